#!/usr/bin/env python3
"""Generates rankforge's bundled sample retrieval collection in data/sample/.

A small BEIR-format collection (corpus.jsonl, queries.jsonl, qrels/{train,dev}.tsv) of
original, hand-written encyclopedic passages on 25 everyday topics, for the quickstart and
the tests. Nothing here is copied from any dataset: every fact snippet, template, context
sentence and query below was written for this project.

How the passages are built:
  * free-text topics: each passage starts from a hand-written fact snippet (2-4 sentences);
  * table topics (planets, minerals, migratory birds, chess openings, coffee brewing methods,
    vitamins): a passage is rendered from a record of facts through one of several sentence
    templates, so passages in these topics share their phrasing the way real reference pages do;
  * every passage may also get one or two of its topic's generic context sentences, which
    share vocabulary with the rest of the topic without answering anything (lexical hard
    negatives for BM25) and bring it to 40-120 words and at most 5 sentences.

Queries are natural questions, many deliberately worded unlike their answer passage, with
graded judgments (2 = answers it, 1 = relevant / partial answer).

Everything is deterministic (fixed seeds, no set or hash ordering), so

    python3 scripts/make_sample_data.py

rewrites data/sample/ byte-identically. Plain Python 3 standard library only.
"""

import json
import os
import random
import re
import sys

SEED = 20240917
MIN_WORDS, MAX_WORDS = 40, 120
MAX_SENTENCES = 5
DEV_QUERIES = 40

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "data", "sample")

# Drives only the choice between template variants; one fixed sequence at import time.
_TEMPLATE_RNG = random.Random(SEED + 1)


def pick(variants):
    return _TEMPLATE_RNG.choice(variants)


TOPICS = []


def topic(name, context, docs, queries):
    """Registers a topic.

    context: generic sentences that may be attached to any passage of the topic.
    docs:    (key, title, text) tuples; keys are local to the generator.
    queries: (text, {doc key: grade}) tuples.
    """
    TOPICS.append({"name": name, "context": context, "docs": docs, "queries": queries})


# ---------------------------------------------------------------------------------------------
# Table topics: render records through sentence templates.
# ---------------------------------------------------------------------------------------------


def planet(key, name, ordinal, rotation, orbit, moons, fact):
    s1 = pick([
        f"{name} is the {ordinal} planet from the Sun.",
        f"Counting outward from the Sun, {name} is the {ordinal} planet.",
    ])
    s2 = pick([
        f"One rotation on its axis takes {rotation}, and one trip around the Sun takes {orbit}.",
        f"It spins once in {rotation} and completes an orbit of the Sun in {orbit}.",
    ])
    body = [moons, fact] if _TEMPLATE_RNG.random() < 0.5 else [fact, moons]
    return (key, name, " ".join([s1, s2] + body))


def mineral(key, name, composition, hardness, fact):
    s1 = pick([
        f"{name} is a mineral made of {composition}.",
        f"Chemically, {name.lower()} is {composition}.",
    ])
    s2 = pick([
        f"It rates {hardness} on the Mohs hardness scale.",
        f"On the Mohs scale of hardness it scores {hardness}.",
    ])
    return (key, name, " ".join([s1, s2, fact]))


def bird(key, name, latin, breeds, winters, journey, fact):
    s1 = pick([
        f"The {name} ({latin}) breeds in {breeds} and winters in {winters}.",
        f"Each year the {name} ({latin}) travels between its breeding grounds in {breeds} and its wintering grounds in {winters}.",
    ])
    parts = [s1] + ([journey] if journey else []) + [fact]
    return (key, name[0].upper() + name[1:], " ".join(parts))


def opening(key, name, moves, idea, extra):
    s1 = pick([f"The {name} begins with {moves}.", f"The {name} arises after {moves}."])
    return (key, name, " ".join([s1, idea, extra]))


def brew(key, name, in_text, grind, ratio, time, fact):
    s1 = pick([
        f"{name} calls for a {grind} grind.",
        f"For {in_text}, the coffee should be ground {grind}.",
    ])
    s2 = pick([
        f"A typical recipe uses {ratio} and takes {time}.",
        f"Typical recipes use {ratio}, with a brew time of {time}.",
    ])
    return (key, name, " ".join([s1, s2, fact]))


def vitamin(key, name, solubility, sources, role, lack):
    s1 = pick([f"{name} is a {solubility} vitamin.", f"{name} belongs to the {solubility} vitamins."])
    s2 = pick([f"Good dietary sources include {sources}.", f"It is found in {sources}."])
    s3 = pick([f"It {role}.", f"In the body it {role}."])
    title = name.split(",")[0]
    return (key, title, " ".join([s1, s2, s3, lack]))

# ---------------------------------------------------------------------------------------------
# Topics
# ---------------------------------------------------------------------------------------------

topic(
    "astronomy",
    context=[
        "Astronomers describe the positions of objects in the sky with coordinates much like latitude and longitude.",
        "Amateur observers can see many of these features with a small telescope or even binoculars.",
        "Space probes launched since the 1960s have greatly refined these measurements.",
        "Distances inside the Solar System are often given in astronomical units, the average distance between Earth and the Sun.",
        "Much of what is known comes from combining ground-based telescopes with observations from orbit.",
    ],
    docs=[
        planet("mercury", "Mercury", "first", "about 59 Earth days", "88 Earth days", "It has no moons.",
               "Because it has almost no atmosphere to hold heat, its surface swings from roughly 430 °C in daylight to about −180 °C at night."),
        planet("venus", "Venus", "second", "about 243 Earth days, in the opposite direction to most planets", "225 Earth days",
               "Like Mercury, it has no moons.",
               "A dense carbon dioxide atmosphere traps heat so effectively that the surface stays near 465 °C, hotter than Mercury even though Venus is farther from the Sun."),
        planet("mars", "Mars", "fourth", "24 hours and 37 minutes", "687 Earth days",
               "Two small, irregular moons, Phobos and Deimos, circle it and may be captured asteroids.",
               "Iron oxide dust gives its surface a reddish colour, and it hosts Olympus Mons, the tallest known volcano in the Solar System."),
        planet("jupiter", "Jupiter", "fifth", "just under 10 hours", "nearly 12 Earth years",
               "It has dozens of moons; the four largest, Io, Europa, Ganymede and Callisto, were spotted by Galileo in 1610.",
               "The Great Red Spot is a storm larger than Earth that has been observed for more than 150 years."),
        planet("saturn", "Saturn", "sixth", "about 10.7 hours", "about 29 Earth years",
               "Its largest moon, Titan, has a thick nitrogen atmosphere and lakes of liquid methane.",
               "Its bright rings are made mostly of water ice, and its average density is lower than that of water."),
        planet("uranus", "Uranus", "seventh", "about 17 hours", "84 Earth years",
               "Its moons are named after characters from the works of Shakespeare and Alexander Pope.",
               "Its axis is tilted by about 98 degrees, so it effectively rolls around the Sun on its side, and each pole gets decades of continuous sunlight followed by decades of darkness."),
        planet("neptune", "Neptune", "eighth", "about 16 hours", "about 165 Earth years",
               "Its largest moon, Triton, orbits in the opposite direction to the planet's rotation.",
               "It was found in 1846 after mathematicians calculated its position from irregularities in the orbit of Uranus, and it has the fastest winds measured on any planet."),
        ("lightyear", "Light-year",
         "A light-year is a unit of distance, not of time: it is how far light travels in one year, roughly 9.46 trillion kilometres. "
         "The nearest star beyond the Sun, Proxima Centauri, lies about 4.2 light-years away, so the light we see from it left more than four years ago."),
        ("eclipse", "Eclipses",
         "A solar eclipse happens when the Moon passes between the Sun and Earth and its shadow falls on part of Earth's surface. "
         "A lunar eclipse happens when Earth lies between the Sun and the Moon; the Moon darkens and often turns a coppery red. "
         "A lunar eclipse can be seen from the whole night side of Earth, while a total solar eclipse is visible only along a narrow path."),
        ("phases", "Phases of the Moon",
         "The Moon produces no light of its own; we see the half that is lit by the Sun. "
         "As the Moon orbits Earth about every 29.5 days, the lit portion facing us grows from new moon to full moon and shrinks again, producing the familiar cycle of phases."),
        ("comet", "Comets",
         "Comets are chunks of ice and dust from the outer Solar System. "
         "When one swings close to the Sun, the ice turns to gas and forms a glowing coma, and the solar wind pushes gas and dust into tails that always point away from the Sun rather than trailing behind the comet."),
        ("meteor", "Shooting stars",
         "A shooting star is not a star at all but a grain of rock or dust burning up as it enters the atmosphere at high speed. "
         "Meteor showers such as the Perseids in August occur when Earth crosses the trail of debris left behind by a comet."),
        ("moons", "Moons of the Solar System",
         "Earth's Moon is the fifth largest natural satellite in the Solar System. "
         "The largest, Jupiter's Ganymede, is bigger than the planet Mercury, and Saturn's Titan comes second. "
         "New small moons of the giant planets are still being discovered, so their official counts change from year to year."),
        ("blackhole", "Black holes",
         "A black hole forms where matter is packed so densely that its gravity prevents anything, even light, from escaping. "
         "The boundary beyond which escape is impossible is called the event horizon. "
         "Stellar black holes can form when very massive stars collapse at the end of their lives."),
    ],
    queries=[
        ("how many natural satellites does the red planet have", {"mars": 2}),
        ("which planet spins lying on its side", {"uranus": 2}),
        ("why is the second planet hotter than the one closest to the sun", {"venus": 2, "mercury": 1}),
        ("why does the moon look red during some nights", {"eclipse": 2, "phases": 1}),
        ("planet discovered with pen and paper before anyone saw it", {"neptune": 2}),
    ],
)

topic(
    "cooking",
    context=[
        "Professional kitchens teach these basics early because they affect almost every dish.",
        "Recipes often assume this knowledge without explaining it.",
        "Home cooks can practise the technique with inexpensive ingredients before trying it on a special meal.",
        "Heat, time and moisture are the three variables a cook controls most directly.",
    ],
    docs=[
        ("maillard", "Browning",
         "The Maillard reaction is a set of reactions between amino acids and sugars that produces the brown crust and savoury aroma of seared meat, toasted bread and roasted coffee. "
         "It proceeds quickly only above about 140 °C, which is why boiled meat never browns: water cannot get hotter than 100 °C at sea level."),
        ("searing", "Searing",
         "Searing meat in a very hot pan does not seal in the juices, despite the old kitchen claim; a seared steak loses as much moisture as an unseared one. "
         "What searing does provide is flavour and colour, and it works best when the surface is patted dry first, since surface water keeps the meat from getting hot enough to brown."),
        ("caramel", "Caramelization",
         "Caramelization is the browning of sugar on its own, without proteins involved. "
         "Table sugar begins to caramelize at roughly 160 °C, turning from clear to amber and developing bitter, nutty notes as it darkens. "
         "It is often confused with the Maillard reaction, which needs amino acids as well as sugar."),
        ("rest", "Resting meat",
         "Letting a roast or steak rest for several minutes after cooking allows the temperature to even out and the juices to thicken slightly, so less liquid runs onto the board when it is sliced. "
         "The centre keeps cooking by a few degrees while it rests, an effect called carryover cooking, so cooks take meat off the heat a little before the target temperature."),
        ("pastawater", "Pasta water",
         "Salting pasta water seasons the noodles from the inside as they absorb liquid; at kitchen quantities it does not noticeably change the boiling point. "
         "A common guideline is about 10 grams of salt per litre. "
         "Reserving a cup of the starchy cooking water helps sauces cling to the pasta and emulsify."),
        ("emulsion", "Emulsions",
         "Mayonnaise and vinaigrette are emulsions: droplets of oil dispersed in a watery liquid. "
         "Egg yolk contains lecithin, which coats the droplets and keeps them from merging, so mayonnaise stays thick for days, while a plain oil-and-vinegar dressing separates within minutes unless mustard or another emulsifier is added."),
        ("brokenmayo", "Fixing mayonnaise",
         "If mayonnaise breaks into a greasy, curdled mess, usually because the oil went in too quickly, it can often be rescued. "
         "Whisk a fresh yolk or a spoonful of water in a clean bowl, then add the broken mixture drop by drop until it thickens again."),
        ("knife", "Knife care",
         "A honing steel does not really sharpen a knife; it straightens the microscopic edge that bends during use. "
         "True sharpening removes metal with a whetstone or grinder to form a new edge. "
         "Most home cooks need to hone often and sharpen only a few times a year."),
        ("onion", "Onions and tears",
         "Cutting an onion ruptures cells and releases enzymes that produce syn-propanethial-S-oxide, a volatile compound that irritates the eyes and triggers tears. "
         "Chilling the onion slows the reaction, and a very sharp knife crushes fewer cells, so both reduce the sting."),
        ("caramelonion", "Caramelised onions",
         "Properly caramelised onions take 40 minutes or more over low heat, stirred now and then, as their sugars slowly brown and their sharpness mellows into sweetness. "
         "Recipes that promise the same result in ten minutes usually produce onions that are merely softened and scorched at the edges."),
        ("braise", "Braising",
         "Braising cooks tough cuts such as shoulder or shank slowly in a small amount of liquid in a covered pot. "
         "Over several hours at a gentle simmer the connective tissue collagen turns into gelatin, which makes the meat tender and gives the sauce a rich body."),
        ("rice", "Cooking rice",
         "Rinsing rice before cooking washes away surface starch that would otherwise make the grains sticky. "
         "For long-grain white rice on the stove, roughly 1.5 parts water to 1 part rice works well, followed by a short rest off the heat with the lid on so the steam finishes the job."),
        ("altitude", "Cooking at altitude",
         "At high altitude water boils at a lower temperature because the air pressure is lower; in Denver it boils at about 95 °C. "
         "Foods cooked in water, such as pasta, beans and eggs, therefore take longer, and baked goods may need less leavening and more liquid."),
        ("smokepoint", "Smoke point",
         "The smoke point is the temperature at which an oil starts to break down and give off visible smoke. "
         "Refined oils such as peanut or sunflower oil tolerate high-heat frying, while unrefined extra virgin olive oil and butter smoke at lower temperatures; clarified butter, with its milk solids removed, can be heated much further."),
    ],
    queries=[
        ("why doesn't stewed beef get a brown crust", {"maillard": 2, "searing": 1}),
        ("how can I save mayo that has split", {"brokenmayo": 2, "emulsion": 1}),
        ("does adding salt make water boil faster", {"pastawater": 2, "altitude": 1}),
        ("why do my eyes water when I chop onions", {"onion": 2}),
        ("which fat can handle very hot frying without burning", {"smokepoint": 2}),
    ],
)

topic(
    "cycling repair",
    context=[
        "Most of these jobs need only basic tools such as tyre levers, a set of hex keys and a pump.",
        "Bike shops offer the same service, but learning it at home saves time on long rides.",
        "Manufacturers publish recommended settings, and it is worth checking them for a specific bicycle.",
        "Regular cleaning makes problems easier to spot before they cause a breakdown.",
    ],
    docs=[
        ("puncture", "Fixing a flat tyre",
         "To repair a puncture, remove the wheel, lever one side of the tyre off the rim and pull out the inner tube. "
         "Inflate the tube slightly to find the hole, roughen the area, apply vulcanising fluid, wait until it turns tacky and press on a patch. "
         "Before refitting, run a finger around the inside of the tyre to find the thorn or glass that caused the flat."),
        ("pressure", "Tyre pressure",
         "The right tyre pressure depends on rider weight, tyre width and the surface. "
         "Narrow road tyres typically run at 80 to 100 psi, while wide mountain bike tyres may run at 20 to 30 psi for grip. "
         "The recommended range is usually printed on the tyre sidewall."),
        ("chainwear", "Chain wear",
         "A bicycle chain elongates as its pins and rollers wear, a process often called chain stretch. "
         "A cheap chain checker shows when elongation reaches about 0.5 to 0.75 percent, the point at which replacing the chain protects the much more expensive cassette and chainrings."),
        ("chainlube", "Chain lubrication",
         "Chains should be lubricated after cleaning and after riding in the rain. "
         "Apply one drop of lubricant to each roller while turning the pedals backwards, let it penetrate, and then wipe off the excess, because oil left on the outside attracts grit that acts like grinding paste."),
        ("pads", "Brake pads",
         "Rim brake pads have grooves that act as wear indicators; once the grooves are gone, the pads should be replaced. "
         "Disc brake pads are checked by looking at the thickness of the friction material, and most makers recommend replacing them when less than about half a millimetre remains."),
        ("squeal", "Noisy disc brakes",
         "Squealing disc brakes are usually caused by contamination from oil or lubricant on the rotor or pads. "
         "Cleaning the rotor with isopropyl alcohol often helps, but contaminated pads generally need replacing, since the oil soaks into the compound."),
        ("indexing", "Indexing gears",
         "If a rear derailleur hesitates or skips between sprockets, the cable tension is usually slightly off. "
         "Turning the barrel adjuster a quarter turn anticlockwise increases tension and helps the chain climb to larger cogs; turning it clockwise lets the chain drop to smaller ones."),
        ("limits", "Limit screws",
         "The two limit screws on a derailleur, usually marked H and L, stop the chain from being pushed past the smallest or largest sprocket. "
         "If the chain is thrown inward into the spokes, the low limit screw needs to be screwed in further; if it drops off the outside onto the frame, the high limit screw does."),
        ("saddle", "Saddle height",
         "A common starting point for saddle height is that the leg should be almost straight, with a slight bend at the knee, when the pedal is at the bottom of the stroke. "
         "A saddle that is too low strains the knees, while one that is too high makes the hips rock from side to side."),
        ("headset", "Headset play",
         "To check the headset for looseness, hold the front brake on and rock the bike back and forth; a knocking feeling at the front of the frame indicates play. "
         "It is usually removed by loosening the stem bolts, tightening the top cap slightly and then retightening the stem."),
        ("tubeless", "Tubeless tyres",
         "Tubeless tyres seal against the rim without an inner tube and are filled with liquid sealant that plugs small holes automatically while you ride. "
         "The sealant dries out over months, so it should be topped up two or three times a year."),
        ("spoke", "Broken spokes",
         "A broken spoke makes a wheel wobble because the tension around the rim becomes uneven. "
         "The spoke should be replaced and the wheel trued on a stand by tightening and loosening neighbouring spoke nipples until the rim runs straight."),
    ],
    queries=[
        ("my chain keeps jumping off into the back wheel", {"limits": 2, "indexing": 1}),
        ("when to replace a chain before it ruins the sprockets", {"chainwear": 2}),
        ("how to find where an inner tube is leaking", {"puncture": 2, "tubeless": 1}),
        ("loud squeak every time I slow down on my mountain bike", {"squeal": 2, "pads": 1}),
        ("knees hurt after cycling, is my seat set wrong", {"saddle": 2}),
    ],
)

topic(
    "gardening",
    context=[
        "Local climate and soil type have a large influence, so advice from nearby growers is valuable.",
        "Keeping a simple garden diary helps track what worked from one season to the next.",
        "Many of these practices are as old as agriculture itself.",
        "Gardeners in cold regions usually work a few weeks later than those in mild ones.",
    ],
    docs=[
        ("compost", "Composting",
         "A compost heap breaks down fastest when it mixes nitrogen-rich green material, such as grass clippings and vegetable scraps, with carbon-rich brown material, such as dry leaves and cardboard, roughly one part green to two or three parts brown by volume. "
         "Turning the heap adds oxygen and speeds decomposition."),
        ("compostsmell", "Compost problems",
         "A compost pile that smells of rotten eggs or ammonia is usually too wet or holds too much green material, so it has gone anaerobic. "
         "Mixing in shredded cardboard or straw and turning the heap to let air in normally cures the problem within days."),
        ("blossomrot", "Blossom end rot",
         "Dark, sunken patches at the bottom of tomato fruits are a disorder called blossom end rot. "
         "It is caused by a shortage of calcium in the developing fruit, which is most often the result of irregular watering rather than a lack of calcium in the soil."),
        ("blight", "Tomato blight",
         "Late blight is a disease of tomatoes and potatoes caused by a water mould that thrives in warm, wet weather. "
         "It produces brown-black blotches on leaves and stems, and affected tomatoes develop firm brown patches before rotting. "
         "Infected plants should be removed and not composted, and resistant varieties are the best protection."),
        ("tomatoprune", "Pruning tomatoes",
         "Cordon tomato varieties are usually trained up a single stem by pinching out the side shoots that grow between the main stem and the leaf branches. "
         "Bush varieties, by contrast, are left unpruned because they fruit on their side shoots."),
        ("ph", "Soil acidity",
         "Soil pH measures acidity on a scale where 7 is neutral. "
         "Most vegetables grow best in slightly acidic soil between 6 and 7, while blueberries and rhododendrons need acidic soil of around 4.5 to 5.5. "
         "Garden lime raises pH, and sulfur lowers it over several months."),
        ("hydrangea", "Hydrangea colour",
         "The flowers of bigleaf hydrangeas change colour with the soil. "
         "In acidic soil, aluminium becomes available to the plant and the blooms turn blue; in alkaline soil the same plant produces pink flowers. "
         "White varieties do not change."),
        ("watering", "Watering",
         "Deep, infrequent watering encourages roots to grow downward and makes plants more resilient in dry spells, while light daily sprinkling keeps roots near the surface. "
         "Watering in the early morning reduces evaporation and lets the leaves dry before evening, which limits fungal disease."),
        ("mulch", "Mulching",
         "A layer of mulch five to eight centimetres deep, such as bark, straw or leaf mould, keeps moisture in the soil, suppresses weeds and moderates soil temperature. "
         "It should be kept a few centimetres away from stems and tree trunks to prevent rot."),
        ("frost", "Frost dates",
         "The last spring frost date is the average date after which frost becomes unlikely. "
         "Tender crops such as tomatoes, beans and squash should go outside only after this date, while hardy crops such as peas, spinach and broad beans can be sown several weeks earlier."),
        ("companion", "Companion planting",
         "Companion planting places species together for mutual benefit. "
         "Marigolds are often grown among vegetables because their scent is thought to deter some pests, and the traditional three sisters method grows maize, climbing beans and squash together, with the maize acting as a pole for the beans."),
        ("legumes", "Legumes",
         "Peas, beans, clover and other legumes host bacteria in root nodules that capture nitrogen from the air and turn it into a form plants can use. "
         "Leaving their roots in the ground after harvest returns some of that nitrogen to the soil for the following crop."),
        ("rotation", "Crop rotation",
         "Crop rotation means growing related vegetables in a different bed each year, commonly on a three or four year cycle. "
         "It prevents soil-borne pests and diseases specific to one plant family, such as clubroot in cabbages, from building up."),
    ],
    queries=[
        ("the bottoms of my tomatoes are going black and mushy", {"blossomrot": 2}),
        ("how do I make my hydrangea flowers blue instead of pink", {"hydrangea": 2, "ph": 1}),
        ("why does my compost heap stink", {"compostsmell": 2, "compost": 1}),
        ("what should I grow this year to naturally fertilise the bed for next season", {"legumes": 2, "rotation": 1}),
        ("when is it safe to plant out tender vegetables", {"frost": 2}),
    ],
)

topic(
    "first aid",
    context=[
        "First aid courses recommend calling the emergency number early when a situation is serious.",
        "Guidelines are updated periodically, so it is worth refreshing training every few years.",
        "Protective gloves should be worn if they are available.",
        "These steps are meant to bridge the time until professional help arrives.",
    ],
    docs=[
        ("burn", "Treating burns",
         "Minor burns should be cooled under cool running water for at least 20 minutes, which limits the damage to deeper tissue. "
         "Ice, butter and toothpaste should not be applied. "
         "After cooling, the burn can be covered loosely with cling film or a clean non-fluffy dressing."),
        ("cpr", "CPR",
         "Cardiopulmonary resuscitation for adults combines chest compressions at a rate of 100 to 120 per minute, about 5 to 6 centimetres deep in the centre of the chest, with rescue breaths in a ratio of 30 compressions to 2 breaths. "
         "Untrained rescuers are encouraged to give compressions only rather than do nothing."),
        ("aed", "Defibrillators",
         "An automated external defibrillator analyses the heart rhythm through pads stuck to the chest and delivers a shock only if it detects a rhythm that a shock can correct. "
         "The device gives spoken instructions, so it can be used by a bystander with no training."),
        ("choking", "Choking",
         "If an adult is choking and cannot cough, speak or breathe, give up to five sharp back blows between the shoulder blades with the heel of the hand. "
         "If that fails, give up to five abdominal thrusts by pulling sharply inwards and upwards above the navel, and alternate the two until the obstruction clears."),
        ("nosebleed", "Nosebleeds",
         "For a nosebleed, sit upright and lean forward, then pinch the soft part of the nose just below the bony bridge for ten to fifteen minutes. "
         "Tilting the head back is discouraged because blood can run down the throat and cause vomiting."),
        ("sprain", "Sprains",
         "A sprained ankle is traditionally treated with rest, ice, compression and elevation during the first day or two. "
         "Ice should be wrapped in a cloth and applied for about 20 minutes at a time to reduce swelling without harming the skin."),
        ("recovery", "Recovery position",
         "An unconscious person who is breathing normally should be placed in the recovery position: on their side, with the top leg bent and the head tilted back slightly. "
         "This keeps the airway open and lets fluid or vomit drain from the mouth."),
        ("stroke", "Recognising a stroke",
         "The FAST test helps recognise a stroke: Face drooping on one side, Arm weakness, Speech that is slurred or strange, and Time to call emergency services. "
         "Treatment is most effective within the first few hours, so rapid action matters."),
        ("stroketypes", "Types of stroke",
         "Most strokes are ischaemic, caused by a clot that blocks blood flow to part of the brain, while about one in eight is haemorrhagic, caused by bleeding into or around the brain. "
         "A transient ischaemic attack, sometimes called a mini-stroke, passes within a day but signals a high risk of a full stroke in the following weeks."),
        ("hypothermia", "Hypothermia",
         "Hypothermia sets in when the core body temperature drops below 35 °C. "
         "Move the person somewhere warm, remove wet clothing and warm them gradually with blankets, and with warm drinks if they are alert; rubbing the limbs or applying direct heat is not recommended."),
        ("bleeding", "Severe bleeding",
         "To control severe bleeding, press firmly on the wound with a clean pad or your hand and keep pressing. "
         "If blood soaks through, add more padding on top instead of removing the first dressing. "
         "A tourniquet is reserved for life-threatening bleeding from a limb that direct pressure cannot stop."),
        ("sting", "Bee stings",
         "After a bee sting, scrape the stinger out sideways with a fingernail or a card as quickly as possible, then wash the area and apply a cold compress. "
         "Swelling of the face or throat, or difficulty breathing, can signal a severe allergic reaction that needs emergency treatment with adrenaline."),
        ("sunburn", "Sunburn",
         "Sunburn is a burn caused by ultraviolet radiation, and the redness and pain peak between twelve and twenty-four hours after exposure. "
         "Cool showers, moisturiser containing aloe vera and drinking plenty of fluids ease the symptoms; widespread blistering, fever or dizziness call for medical attention."),
        ("heatstroke", "Heatstroke",
         "Heatstroke is a medical emergency in which the body's cooling fails and its temperature rises above about 40 °C, often with confusion and hot skin. "
         "Move the person into shade, remove excess clothing and cool them rapidly with water and fanning while waiting for help."),
    ],
    queries=[
        ("should I put ice on a scald from boiling water", {"burn": 2}),
        ("how fast should I push on someone's chest when their heart stops", {"cpr": 2, "aed": 1}),
        ("what to do when food is stuck in someone's windpipe", {"choking": 2}),
        ("signs that someone is having a brain attack", {"stroke": 2}),
        ("friend passed out but is still breathing, how should I lay them", {"recovery": 2}),
    ],
)

topic(
    "rust programming",
    context=[
        "The Rust compiler's error messages usually point directly at the offending code and suggest a fix.",
        "These rules are checked at compile time, so they add no cost when the program runs.",
        "The official book, The Rust Programming Language, covers this topic in detail.",
        "Newcomers to Rust often find this concept difficult at first, but it becomes natural with practice.",
    ],
    docs=[
        ("ownership", "Ownership",
         "Every value in Rust has a single owner, and the value is dropped when its owner goes out of scope. "
         "Assigning a heap-allocated value such as a String to another variable moves ownership, after which the original variable can no longer be used."),
        ("borrowing", "Borrowing",
         "Instead of transferring ownership, code can borrow a value through a reference. "
         "At any moment there may be either any number of shared references or exactly one mutable reference, a rule that rules out data races at compile time."),
        ("lifetimes", "Lifetimes",
         "Lifetime annotations such as 'a describe how long references remain valid relative to each other. "
         "They do not change how long any value lives; they let the compiler verify that a returned reference never outlives the data it points to."),
        ("result", "Error handling",
         "Recoverable errors in Rust are represented by the Result type, which is either Ok with a value or Err with an error. "
         "The question mark operator returns early with the error if a Result is Err, which keeps error propagation concise."),
        ("panic", "Panics",
         "A panic signals an unrecoverable bug, such as indexing past the end of a vector. "
         "By default the panicking thread unwinds its stack and runs destructors; calling unwrap on a None or Err value is a common source of panics."),
        ("traits", "Traits",
         "Traits define shared behaviour, similar to interfaces in other languages. "
         "A type implements a trait by providing its methods, and generic functions can declare trait bounds so that they accept any type with that behaviour."),
        ("dyn", "Trait objects",
         "When the concrete type is only known at run time, a trait object such as Box<dyn Shape> allows dynamic dispatch through a vtable. "
         "Generic code, by contrast, is monomorphised: the compiler produces a specialised copy for each type, which avoids the indirect call."),
        ("cargo", "Cargo",
         "Cargo is Rust's build tool and package manager. "
         "It reads dependencies from Cargo.toml, downloads crates from crates.io and provides commands such as cargo build, cargo test and cargo run; the exact dependency versions are recorded in Cargo.lock."),
        ("arc", "Shared state across threads",
         "Rc provides reference counting within a single thread, but it cannot be sent to other threads. "
         "For sharing across threads, Arc uses atomic reference counts, and wrapping the value in a Mutex lets threads mutate it safely."),
        ("threads", "Threads in Rust",
         "The standard library's thread::spawn starts an operating system thread that runs a closure, and calling join on the returned handle waits for it to finish. "
         "Closures passed to a new thread usually need the move keyword, because the thread may outlive the variables of the function that started it."),
        ("async", "Async Rust",
         "An async function in Rust returns a future that does nothing until it is polled. "
         "The language defines the syntax, but an executor such as Tokio is needed to actually run futures, and .await suspends the current task without blocking the thread."),
        ("blocking", "Blocking in async code",
         "Calling a blocking function, such as std::thread::sleep or a synchronous file read, inside an async task stalls the executor thread and every other task scheduled on it. "
         "Async runtimes provide non-blocking alternatives, such as tokio::time::sleep, and a spawn_blocking function for unavoidable blocking work."),
        ("unsafe", "Unsafe code",
         "An unsafe block lets code dereference raw pointers, call foreign functions and perform a few other operations the compiler cannot check. "
         "It does not switch off the borrow checker; it marks places where the programmer takes responsibility for upholding memory safety."),
        ("option", "Option",
         "Rust has no null. "
         "A value that may be absent is written as Option<T>, which is either Some(value) or None, and the compiler forces code to handle the None case before using the value, for example with match or if let."),
    ],
    queries=[
        ("why can't I use a variable after I assigned it to another one", {"ownership": 2, "borrowing": 1}),
        ("pass failures up the call stack without writing a match everywhere", {"result": 2}),
        ("let several worker threads bump one shared tally", {"arc": 2}),
        ("does rust have null pointers", {"option": 2}),
        ("my async function body never executes", {"async": 2}),
    ],
)

topic(
    "databases",
    context=[
        "Most relational database systems, including PostgreSQL, MySQL and SQLite, follow these principles.",
        "Database administrators weigh these trade-offs when designing a schema for a new application.",
        "The details vary between products, so the documentation of the specific system is the final reference.",
        "Query planners take these factors into account automatically, but they cannot fix a poor design.",
    ],
    docs=[
        ("index", "Indexes",
         "An index is a separate data structure, usually a B-tree, that lets the database find rows matching a condition without scanning the whole table. "
         "Indexes speed up reads but slow down inserts and updates, because each index must be maintained whenever the data changes."),
        ("acid", "ACID",
         "ACID stands for atomicity, consistency, isolation and durability. "
         "Atomicity means that a transaction either completes entirely or has no effect, so a bank transfer can never withdraw money from one account without depositing it in the other."),
        ("isolation", "Isolation levels",
         "Isolation levels control what concurrent transactions can see of each other. "
         "Read committed prevents dirty reads of uncommitted data, repeatable read also prevents a row from changing between two reads, and serializable makes transactions behave as if they ran one after another."),
        ("normal", "Normalization",
         "Normalization organizes tables to reduce duplicated data. "
         "In third normal form, every non-key column depends only on the primary key, so a customer's address is stored once in a customers table rather than repeated in every order."),
        ("join", "Joins",
         "An inner join returns only rows that have matching values in both tables, while a left join returns all rows from the left table and fills in nulls where the right table has no match. "
         "Choosing the wrong join is a common reason for reports that silently drop records."),
        ("explain", "Query plans",
         "Running EXPLAIN before a query shows the plan the database intends to use, including whether it will scan a whole table or use an index. "
         "EXPLAIN ANALYZE in PostgreSQL actually executes the query and reports real timings for each step."),
        ("nplus1", "The N+1 problem",
         "The N+1 query problem occurs when an application fetches a list of records with one query and then issues a separate query for each record to load related data. "
         "With hundreds of records this becomes slow, and it is usually fixed by loading the related rows in a single join or batched query."),
        ("replication", "Replication",
         "Replication copies data from a primary server to one or more replicas. "
         "Replicas can serve read traffic and take over if the primary fails; with asynchronous replication, however, the most recent writes may be lost during a failover."),
        ("sharding", "Sharding",
         "Sharding splits a large dataset horizontally across several servers, each holding a subset of rows chosen by a shard key such as a user identifier. "
         "It lets a database grow beyond one machine but makes queries that span shards more complicated."),
        ("document", "Document stores",
         "Document databases such as MongoDB store records as flexible JSON-like documents instead of rows in fixed tables. "
         "They suit data whose shape varies between records, at the cost of weaker support for joins across collections."),
        ("deadlock", "Deadlocks",
         "A deadlock happens when two transactions each hold a lock the other needs, so neither can proceed. "
         "Databases detect the cycle and abort one of the transactions, and applications should be ready to retry it; acquiring locks in a consistent order makes it rarer."),
        ("injection", "SQL injection",
         "SQL injection occurs when user input is pasted directly into a query string, letting an attacker change the query itself. "
         "Parameterized queries, which send the SQL text and the values separately, prevent it."),
    ],
    queries=[
        ("make lookups by email address fast in a table with millions of rows", {"index": 2, "explain": 1}),
        ("two transactions stuck waiting on each other forever", {"deadlock": 2}),
        ("my page load fires hundreds of tiny queries", {"nplus1": 2}),
        ("stop hackers from tampering with my statements through form fields", {"injection": 2}),
        ("spread one huge table over several machines", {"sharding": 2, "replication": 1}),
    ],
)

topic(
    "music theory",
    context=[
        "These ideas apply to most Western music, from classical pieces to pop songs.",
        "Musicians often learn the concept by ear long before they can name it.",
        "Practising scales and chords on a keyboard makes the patterns easier to see.",
    ],
    docs=[
        ("major", "Major scale",
         "A major scale follows the pattern of whole and half steps W-W-H-W-W-W-H. "
         "Starting on C, it uses only the white keys of a piano: C, D, E, F, G, A, B and back to C."),
        ("minor", "Minor scales",
         "The natural minor scale lowers the third, sixth and seventh notes of the major scale. "
         "Every major key has a relative minor that shares its key signature and starts on its sixth degree, so A minor uses the same notes as C major."),
        ("circle", "Circle of fifths",
         "The circle of fifths arranges the twelve keys so that each is a perfect fifth above the previous one. "
         "Moving clockwise from C adds one sharp to the key signature at each step, and moving anticlockwise adds one flat, which makes it a handy chart for finding related keys."),
        ("triad", "Triads",
         "A triad is a chord of three notes stacked in thirds: a root, a third and a fifth. "
         "A major triad has a major third and a perfect fifth above the root, while a minor triad lowers the third by a semitone, which gives it a darker sound."),
        ("tempo", "Tempo markings",
         "Tempo indications are traditionally written in Italian. "
         "Largo means very slow, andante a walking pace, allegro fast and lively, and presto very fast. "
         "A metronome marking such as 120 beats per minute gives a precise value."),
        ("metre", "Time signatures",
         "A time signature tells how beats are grouped into bars. "
         "In 4/4, the most common metre in popular music, each bar has four quarter-note beats, while 3/4 has three beats per bar and gives the waltz its characteristic lilt."),
        ("interval", "Intervals",
         "An interval is the distance between two pitches. "
         "The octave spans twelve semitones and sounds so similar that both notes share a letter name; the perfect fifth, seven semitones, is the most consonant interval after the octave."),
        ("guitartuning", "Tuning a guitar",
         "Standard guitar tuning, from the lowest string to the highest, is E, A, D, G, B and E. "
         "An electronic tuner or a reference note from a piano makes the job easier, and tuning up to a note rather than down to it helps the string hold its pitch."),
        ("a440", "Concert pitch",
         "Most orchestras tune to the A above middle C at 440 hertz, a standard adopted internationally in the twentieth century. "
         "Some ensembles playing baroque music tune lower, often to 415 hertz, to approximate historical instruments."),
        ("cadence", "Cadences",
         "A cadence is a chord progression that ends a phrase. "
         "The perfect cadence, moving from the dominant chord to the tonic, sounds final, while the plagal cadence from the subdominant to the tonic is often called the amen cadence because it closes so many hymns."),
        ("blues", "Twelve-bar blues",
         "The twelve-bar blues is a chord progression built on the first, fourth and fifth chords of a key. "
         "In its basic form, four bars of the tonic are followed by two bars of the subdominant and two of the tonic, and the last four bars move through the dominant and the subdominant back to the tonic."),
        ("modes", "Modes",
         "The modes are scales that use the notes of a major scale but start on a different degree. "
         "Dorian, starting on the second degree, has a minor sound with a raised sixth, and Mixolydian, starting on the fifth, is a major scale with a lowered seventh that is common in rock and folk."),
        ("transpose", "Transposing instruments",
         "Some instruments, such as the B-flat clarinet and trumpet, are transposing instruments: when the player reads a written C, the sounding pitch is the B-flat a whole step lower. "
         "Their parts are therefore written a step higher than concert pitch."),
    ],
    queries=[
        ("which minor key has no sharps or flats", {"minor": 2, "circle": 1}),
        ("what does allegro mean on sheet music", {"tempo": 2}),
        ("why is the trumpet part written in a different key from the piano", {"transpose": 2, "a440": 1}),
        ("chord progression that ends church songs", {"cadence": 2}),
        ("what frequency do orchestras tune to", {"a440": 2}),
    ],
)

topic(
    "geology",
    context=[
        "Geologists identify minerals in the field with a hand lens, a streak plate and a few simple tests.",
        "Museum collections and university teaching sets use these examples to illustrate the basics.",
        "Rocks record processes that often took millions of years to unfold.",
    ],
    docs=[
        mineral("talc", "Talc", "hydrated magnesium silicate", "1",
                "It is the softest mineral on the scale, feels greasy to the touch and is ground into talcum powder."),
        mineral("gypsum", "Gypsum", "hydrated calcium sulfate", "2",
                "It can be scratched with a fingernail and is the main ingredient of plaster and plasterboard."),
        mineral("calcite", "Calcite", "calcium carbonate", "3",
                "It fizzes in dilute hydrochloric acid and is the main mineral of limestone and marble."),
        mineral("fluorite", "Fluorite", "calcium fluoride", "4",
                "Many specimens glow under ultraviolet light, a property that was named fluorescence after this mineral."),
        mineral("quartz", "Quartz", "silicon dioxide", "7",
                "It is one of the most common minerals in Earth's crust, and because it is piezoelectric, tiny vibrating quartz crystals keep time in watches."),
        mineral("corundum", "Corundum", "aluminium oxide", "9",
                "Its gem varieties are ruby, coloured red by traces of chromium, and sapphire, which occurs in blue and many other colours."),
        mineral("diamond", "Diamond", "pure carbon", "10",
                "It is the hardest natural mineral and forms under high pressure deep in the mantle, reaching the surface in volcanic pipes of kimberlite."),
        mineral("pyrite", "Pyrite", "iron sulfide", "6 to 6.5",
                "Its brassy yellow colour earned it the nickname fool's gold, but unlike gold it is brittle and leaves a greenish-black streak when rubbed on unglazed porcelain."),
        ("gold", "Native gold",
         "Gold occurs as nuggets, flakes and grains, often concentrated in river gravels because it is so dense. "
         "It is soft enough to dent with a pin, can be hammered into thin sheets without breaking, never tarnishes and leaves a golden-yellow streak."),
        ("mohs", "Mohs scale",
         "The Mohs scale ranks minerals by scratch resistance from 1 to 10, using reference minerals from talc to diamond. "
         "It is ordinal rather than linear: diamond is several times harder than corundum, although they are only one step apart. "
         "A fingernail rates about 2.5 and a steel knife blade about 5.5."),
        ("rocktypes", "Rock types",
         "Igneous rocks form when magma or lava cools and solidifies, sedimentary rocks form from compacted layers of sediment, and metamorphic rocks form when existing rocks are transformed by heat and pressure. "
         "Over long timescales the rock cycle turns each type into the others."),
        ("plates", "Plate tectonics",
         "Earth's outer shell is divided into tectonic plates that move a few centimetres per year, roughly as fast as fingernails grow. "
         "Most earthquakes and volcanoes occur along plate boundaries, where plates collide, pull apart or slide past each other."),
        ("magnitude", "Earthquake magnitude",
         "Earthquake magnitude is measured on a logarithmic scale; seismologists today mostly use the moment magnitude scale rather than the original Richter scale. "
         "Each whole-number step corresponds to about 32 times more energy, so a magnitude 7 quake releases roughly a thousand times the energy of a magnitude 5."),
        ("quakesafety", "During an earthquake",
         "Safety agencies advise people indoors to drop to the ground, take cover under a sturdy table and hold on until the shaking stops, rather than running outside, where falling glass and masonry cause many injuries. "
         "Aftershocks can follow for days, so damaged buildings should be left once the shaking ends."),
        ("volcano", "Volcano shapes",
         "Shield volcanoes such as Mauna Loa have gentle slopes built from runny basaltic lava, while stratovolcanoes such as Mount Fuji are steep cones of alternating lava and ash. "
         "Stratovolcanoes tend to erupt explosively because their sticky, gas-rich magma traps pressure."),
        ("fossils", "Fossils",
         "Fossils form when the remains of organisms are buried quickly in sediment and their tissues are gradually replaced by minerals. "
         "Hard parts such as bones, teeth and shells are far more likely to be preserved than soft tissue, which is why most dinosaurs are known only from their skeletons. "
         "Trace fossils, such as footprints and burrows, record behaviour rather than bodies."),
        ("dating", "Radiometric dating",
         "Radiometric dating measures the decay of radioactive isotopes to determine the age of rocks and remains. "
         "Uranium-lead dating works for rocks billions of years old, while carbon-14, with a half-life of about 5,730 years, is only useful for organic material up to roughly 50,000 years old."),
    ],
    queries=[
        ("how can I tell fool's gold from the real thing", {"pyrite": 2, "gold": 1}),
        ("is the scratch hardness scale evenly spaced between its steps", {"mohs": 2}),
        ("can carbon dating tell how old dinosaur bones are", {"dating": 2}),
        ("why do some mountains blow apart when they erupt", {"volcano": 2, "plates": 1}),
        ("how much stronger is a magnitude 7 earthquake than a 5", {"magnitude": 2}),
    ],
)

topic(
    "bird migration",
    context=[
        "Much of this knowledge comes from bird ringing and, more recently, from tiny satellite and geolocator tags.",
        "Birdwatchers track the arrival dates of migrants each spring as a sign of the changing season.",
        "Stopover sites along the route are essential for resting and refuelling.",
    ],
    docs=[
        bird("arctictern", "Arctic tern", "Sterna paradisaea", "the Arctic and sub-Arctic", "the seas around Antarctica",
             "Its round trip can exceed 70,000 kilometres a year, the longest regular migration known for any animal.",
             "Because it follows the summer from pole to pole, it probably sees more daylight than any other creature."),
        bird("godwit", "bar-tailed godwit", "Limosa lapponica", "western Alaska", "New Zealand and eastern Australia", None,
             "Tracked birds have flown from Alaska to New Zealand across the Pacific without stopping, more than 11,000 kilometres in about nine to eleven days, without eating or drinking."),
        bird("hummingbird", "ruby-throated hummingbird", "Archilochus colubris", "eastern North America", "Mexico and Central America", None,
             "Many cross the Gulf of Mexico in a single flight of around 800 kilometres, after nearly doubling their body weight with fat."),
        bird("swallow", "barn swallow", "Hirundo rustica", "Europe", "Africa south of the Sahara", None,
             "Swallows migrate by day, catching flying insects as they travel, and often return to the same nest site each spring."),
        bird("stork", "white stork", "Ciconia ciconia", "Europe", "Africa", None,
             "It depends on soaring on rising warm air, so it avoids long sea crossings and funnels through narrow straits such as Gibraltar and the Bosporus."),
        bird("cuckoo", "common cuckoo", "Cuculus canorus", "Europe", "central Africa", None,
             "Young cuckoos, raised by other species, make their first migration alone weeks after the adults have left, and still find the wintering grounds without ever having been shown the way."),
        bird("blackpoll", "blackpoll warbler", "Setophaga striata", "the boreal forests of Canada and Alaska", "northern South America", None,
             "In autumn many fly nonstop over the Atlantic from the northeastern United States to the Caribbean or South America, up to three days of continuous flight."),
        bird("bargoose", "bar-headed goose", "Anser indicus", "the high plateaus of Central Asia", "India", None,
             "It crosses the Himalayas at altitudes where the air holds little oxygen, helped by haemoglobin that binds oxygen unusually well."),
        bird("amurfalcon", "Amur falcon", "Falco amurensis", "southeastern Siberia and northern China", "southern Africa", None,
             "On the way it crosses the Arabian Sea from India to East Africa, thousands of kilometres of open water, probably feeding on dragonflies that make the same crossing."),
        ("shearwater", "Sooty shearwater",
         "The sooty shearwater (Ardenna grisea) breeds on islands off New Zealand and Chile and spends the southern winter in the North Pacific. "
         "Tagged birds have been tracked flying a figure-of-eight loop around the whole Pacific Ocean, following the prevailing winds, a journey of about 64,000 kilometres."),
        ("navigation", "How birds navigate",
         "Migrating birds combine several compasses: they read the position of the Sun, the pattern of stars around the celestial pole at night, and Earth's magnetic field, which some species may sense through light-sensitive proteins in the eye. "
         "Landmarks and smell help near the end of the journey."),
        ("restless", "Migratory restlessness",
         "Caged migratory birds become restless and hop in a consistent direction during the season when they would normally migrate, a behaviour called Zugunruhe. "
         "Experiments based on this behaviour showed that the urge to migrate and its timing are largely inherited."),
        ("fuel", "Fuel for migration",
         "Before migrating, many songbirds enter hyperphagia, eating intensely and storing fat that can make up half of their body weight. "
         "Some also shrink their digestive organs during the flight to save weight and rebuild them at stopover sites."),
    ],
    queries=[
        ("which animal travels the farthest every year", {"arctictern": 2, "shearwater": 1}),
        ("longest flight by a bird without ever landing", {"godwit": 2, "blackpoll": 1, "hummingbird": 1}),
        ("how do birds find their way south", {"navigation": 2}),
        ("do young birds learn the route from their parents", {"cuckoo": 2, "restless": 1}),
        ("why do songbirds pile on weight in autumn", {"fuel": 2, "hummingbird": 1}),
    ],
)

topic(
    "tax basics",
    context=[
        "Tax rules differ considerably between countries and change from year to year.",
        "A qualified tax adviser can explain how the rules apply to an individual situation.",
        "Keeping organised records throughout the year makes filing much easier.",
    ],
    docs=[
        ("progressive", "Progressive income tax",
         "In a progressive income tax system, higher rates apply only to the portion of income that falls within each higher bracket. "
         "A raise that moves someone into a higher bracket therefore never reduces their take-home pay, because the income below the threshold is still taxed at the lower rates."),
        ("marginal", "Marginal and effective rates",
         "The marginal tax rate is the rate applied to the last unit of income earned, while the effective rate is total tax divided by total income. "
         "Because lower brackets are taxed at lower rates, the effective rate is always below the top marginal rate a person pays."),
        ("credit", "Deductions and credits",
         "A deduction reduces the income on which tax is calculated, so its value depends on the taxpayer's marginal rate. "
         "A credit reduces the tax bill itself, unit for unit, which makes a credit of a given size worth more than a deduction of the same size."),
        ("withholding", "Withholding",
         "Employers usually withhold income tax from each paycheck and send it to the tax authority on the employee's behalf. "
         "If too much is withheld over the year, the difference comes back as a refund after filing; if too little, the taxpayer owes the balance."),
        ("vat", "Value added tax",
         "A value added tax is charged at each stage of production and sale, but businesses reclaim the tax they paid on their inputs, so in effect only the value added at each step is taxed. "
         "The final consumer bears the full cost, which most countries include in the shelf price."),
        ("capgains", "Capital gains",
         "A capital gain is the profit from selling an asset such as shares or property for more than its purchase price. "
         "Many countries tax gains on assets held for longer periods at lower rates than ordinary income, and losses can often be offset against gains."),
        ("selfemployed", "Self-employment",
         "Self-employed people usually have no employer withholding tax for them, so they make estimated payments during the year, often quarterly. "
         "They can generally deduct ordinary business expenses, such as equipment and a share of home office costs, from their income."),
        ("records", "Keeping receipts",
         "Tax authorities can audit returns for several years after filing, commonly three to six years depending on the country, so receipts and statements supporting deductions should be kept at least that long. "
         "Digital scans are accepted in most places."),
        ("residency", "Tax residency",
         "Tax residency, not citizenship, usually determines where a person pays tax on their worldwide income. "
         "Many countries treat someone as resident if they spend more than 183 days there in a tax year, and double taxation treaties prevent the same income from being taxed twice."),
        ("pension", "Retirement accounts",
         "Many countries encourage retirement saving with tax-advantaged accounts. "
         "In some, contributions are deducted from taxable income now and withdrawals are taxed later; in others, contributions come from taxed income and withdrawals in retirement are tax-free."),
    ],
    queries=[
        ("will a pay rise that bumps me up a bracket leave me with less money", {"progressive": 2, "marginal": 1}),
        ("is a tax credit worth more than a write-off", {"credit": 2}),
        ("why did the government send me money back after I filed", {"withholding": 2}),
        ("how long can the tax office come back and question my return", {"records": 2}),
        ("freelancer with no boss taking tax out of wages, how do I pay", {"selfemployed": 2, "withholding": 1}),
    ],
)

topic(
    "photography",
    context=[
        "Modern cameras automate much of this, but understanding it helps when automatic modes make the wrong choice.",
        "The same principles apply to phone cameras, although their small sensors limit some effects.",
        "Photographers often describe these settings in stops, where each stop doubles or halves the light.",
    ],
    docs=[
        ("aperture", "Aperture",
         "The aperture is the opening in the lens that lets light through, expressed as an f-number. "
         "A smaller f-number such as f/1.8 means a wider opening, more light and a shallower depth of field, which blurs the background behind a portrait subject."),
        ("shutter", "Shutter speed",
         "Shutter speed is how long the sensor is exposed to light. "
         "Fast speeds such as 1/1000 of a second freeze motion in sports, while slow speeds of a second or more blur moving water into a silky texture and require a tripod."),
        ("iso", "ISO",
         "ISO sets how strongly the camera amplifies the signal from the sensor. "
         "Raising it allows shooting in dim light without a slower shutter speed, but high values add visible noise and reduce dynamic range."),
        ("triangle", "Exposure triangle",
         "Aperture, shutter speed and ISO together determine exposure. "
         "Changing one setting by a stop can be compensated by changing another in the opposite direction, so the same brightness can be reached with many combinations, each with a different look."),
        ("thirds", "Rule of thirds",
         "The rule of thirds divides the frame into a three-by-three grid and places important elements along the lines or at their intersections. "
         "Putting the horizon on the upper or lower line, rather than in the middle, usually makes a landscape feel more dynamic."),
        ("golden", "Golden hour",
         "The golden hour is the period shortly after sunrise and before sunset when the Sun is low in the sky. "
         "Its light is warm, soft and directional, producing long shadows and flattering skin tones, which is why landscape and portrait photographers favour it."),
        ("raw", "RAW files",
         "A RAW file stores the unprocessed data from the sensor, while a JPEG is processed and compressed inside the camera. "
         "RAW files are larger but leave much more latitude to recover highlights, fix white balance and adjust exposure afterwards."),
        ("wb", "White balance",
         "White balance corrects colour casts from different light sources so that white objects look white. "
         "Tungsten bulbs give an orange cast and open shade a blue one; the camera compensates by shifting colours according to a colour temperature measured in kelvin."),
        ("focal", "Focal length",
         "Focal length, measured in millimetres, determines the angle of view. "
         "A 24 mm lens captures a wide scene, 50 mm roughly matches the natural perspective of the eye, and a 200 mm telephoto magnifies distant subjects and compresses the apparent distance between them."),
        ("shake", "Camera shake",
         "A traditional rule says the slowest shutter speed for sharp handheld pictures is one over the focal length, so about 1/200 of a second with a 200 mm lens. "
         "Image stabilisation in lenses or camera bodies allows speeds several stops slower."),
        ("histogram", "Histogram",
         "The histogram is a graph of the brightness values in an image, from black on the left to white on the right. "
         "A graph piled up against the right edge warns that highlights are clipped and detail in bright areas has been lost."),
        ("nightsky", "Photographing the night sky",
         "Photographing the Milky Way calls for a sturdy tripod, a wide lens opened to its largest aperture and exposures of around 15 to 25 seconds; longer exposures turn stars into short trails because Earth rotates. "
         "A dark site far from city lights and a moonless night make the faint band of the galaxy visible."),
        ("crop", "Crop sensors",
         "Cameras with sensors smaller than 35 mm film have a crop factor, about 1.5 or 1.6 for APS-C. "
         "A 50 mm lens on such a camera gives a field of view similar to that of a 75 to 80 mm lens on a full-frame camera."),
    ],
    queries=[
        ("how to get a creamy out of focus background in portraits", {"aperture": 2, "focal": 1}),
        ("make a waterfall look smooth like silk", {"shutter": 2}),
        ("why are my night pictures so grainy", {"iso": 2}),
        ("my indoor pictures come out orange", {"wb": 2}),
        ("how slow can I shoot without a tripod before pictures get blurry", {"shake": 2, "shutter": 1}),
    ],
)

topic(
    "chess openings",
    context=[
        "Opening theory in chess has been refined by generations of masters and, more recently, by computer engines.",
        "Club players are usually advised to understand the ideas behind these moves rather than memorise long sequences.",
        "Standard algebraic notation names each square by a file letter and a rank number.",
    ],
    docs=[
        opening("ruylopez", "Ruy Lopez", "1.e4 e5 2.Nf3 Nc6 3.Bb5",
                "White's bishop pressures the knight that defends the e5 pawn, aiming for a lasting initiative in the centre.",
                "It is named after the sixteenth-century Spanish priest Ruy López de Segura and remains one of the most deeply analysed openings at the top level."),
        opening("italian", "Italian Game", "1.e4 e5 2.Nf3 Nc6 3.Bc4",
                "The bishop aims at f7, the weakest square near Black's king, and the game often leads to open positions that reward quick development.",
                "Its quiet modern form, the Giuoco Pianissimo, involves slow manoeuvring rather than early attacks."),
        opening("sicilian", "Sicilian Defence", "1.e4 c5",
                "Black contests the centre from the side, creating an unbalanced position in which Black often counterattacks on the queenside.",
                "It is the most popular reply to 1.e4 in master games and has sharp branches such as the Najdorf and the Dragon."),
        opening("french", "French Defence", "1.e4 e6",
                "Black prepares ...d5 to challenge the centre, accepting a cramped position and a light-squared bishop that can be hard to activate.",
                "Pawn chains often lock the centre, so play shifts to the flanks."),
        opening("carokann", "Caro-Kann Defence", "1.e4 c6",
                "Black supports ...d5 with the c-pawn, keeping a solid pawn structure and a free path for the light-squared bishop.",
                "It has a reputation as a safe, sound defence favoured by positional players."),
        opening("qgambit", "Queen's Gambit", "1.d4 d5 2.c4",
                "White offers a pawn to lure Black's d-pawn away from the centre; Black usually cannot keep the extra pawn safely, so it is not a true sacrifice.",
                "Black can decline with 2...e6 or accept with 2...dxc4, and both lines are considered sound."),
        opening("kingsindian", "King's Indian Defence", "1.d4 Nf6 2.c4 g6",
                "Black lets White build a big pawn centre, fianchettoes the dark-squared bishop and later strikes back with ...e5 or ...c5.",
                "It leads to sharp games in which both sides attack on opposite wings."),
        opening("kingsgambit", "King's Gambit", "1.e4 e5 2.f4",
                "White sacrifices the f-pawn to open the f-file and build a fast attack, at the cost of weakening the king's position.",
                "It was a favourite of nineteenth-century romantic players but is rare in elite play today."),
        opening("english", "English Opening", "1.c4",
                "White controls the d5 square from the flank and often reaches positions resembling a Sicilian Defence with colours reversed.",
                "It is flexible and can transpose into many queen's pawn openings."),
        opening("london", "London System", "1.d4 followed by an early Bf4 and e3",
                "White develops the dark-squared bishop outside the pawn chain and sets up the same solid structure against almost any reply.",
                "Because it needs little memorised theory, it is very popular with club players."),
        ("slav", "Slav Defence",
         "The Slav Defence, 1.d4 d5 2.c4 c6, declines the Queen's Gambit by supporting the d5 pawn with the c-pawn instead of the e-pawn. "
         "This keeps the light-squared bishop free to develop, and the opening has long been one of Black's most reliable answers to 1.d4."),
        ("check", "Check and checkmate",
         "A king is in check when an enemy piece attacks it, and the player must respond at once by moving the king, blocking the attack or capturing the attacker. "
         "If none of these is possible the king is checkmated and the game ends, while a player who has no legal move but is not in check is stalemated, which is a draw."),
        ("principles", "Opening principles",
         "General opening advice is to control the centre, develop knights and bishops before bringing out the queen, castle early to protect the king, and avoid moving the same piece twice without a reason. "
         "These guidelines help beginners reach playable middlegames without memorising long lines."),
        ("castling", "Castling",
         "Castling moves the king two squares towards a rook and places that rook on the other side of the king. "
         "It is allowed only if neither piece has moved, no pieces stand between them, and the king is not in check and does not pass through or land on an attacked square."),
        ("enpassant", "En passant",
         "En passant is a special pawn capture. "
         "When a pawn advances two squares from its starting position and lands beside an enemy pawn, the enemy pawn may capture it as if it had moved only one square, but only on the very next move."),
    ],
    queries=[
        ("black answers e4 by pushing the c pawn two squares", {"sicilian": 2, "carokann": 1}),
        ("does white actually give away a pawn after 1.d4 d5 2.c4", {"qgambit": 2}),
        ("easy setup for white that avoids learning lots of theory", {"london": 2, "principles": 1}),
        ("am I allowed to castle when my king is attacked", {"castling": 2}),
        ("opening named after a clergyman from Spain", {"ruylopez": 2}),
    ],
)

topic(
    "sleep science",
    context=[
        "Sleep researchers study these processes in laboratories using recordings of brain waves, eye movements and muscle activity.",
        "Individual needs vary, and age changes sleep patterns considerably.",
        "Persistent sleep problems are worth discussing with a doctor.",
    ],
    docs=[
        ("stages", "Sleep stages",
         "A night of sleep cycles through light sleep, deep slow-wave sleep and rapid eye movement sleep roughly every 90 minutes. "
         "Deep sleep dominates the first half of the night, while REM periods grow longer towards morning."),
        ("rem", "REM sleep",
         "During REM sleep the brain is highly active and most vivid dreaming occurs, yet the major muscles are temporarily paralysed, which prevents people from acting out their dreams. "
         "Occasionally this paralysis lingers for a few seconds after waking."),
        ("circadian", "Circadian rhythm",
         "The circadian rhythm is an internal clock of roughly 24 hours, governed by the suprachiasmatic nucleus in the hypothalamus. "
         "Morning light is its strongest cue, shifting the clock earlier and helping people feel alert by day and sleepy at night."),
        ("melatonin", "Melatonin",
         "Melatonin is a hormone released by the pineal gland as darkness falls, signalling to the body that night has begun. "
         "Bright light, especially the blue-rich light from screens, suppresses its release and can delay sleepiness."),
        ("adenosine", "Sleep pressure",
         "Adenosine builds up in the brain the longer a person is awake, creating a pressure to sleep that is cleared overnight. "
         "Caffeine works by blocking adenosine receptors, which is why coffee masks tiredness without removing the underlying need for sleep."),
        ("caffeine", "Caffeine and bedtime",
         "Caffeine has a half-life of about five hours in most adults, so half of an afternoon espresso may still be circulating at bedtime. "
         "Many sleep specialists suggest avoiding caffeine for six to eight hours before going to bed."),
        ("need", "How much sleep",
         "Most adults need seven to nine hours of sleep a night, teenagers eight to ten, and young children more. "
         "Regularly sleeping less than about seven hours is linked with poorer attention, mood and long-term health."),
        ("jetlag", "Jet lag",
         "Jet lag occurs when the body clock is out of step with local time after crossing several time zones. "
         "Travelling east is usually harder than travelling west, because it requires shifting the clock earlier; seeking morning daylight at the destination speeds adjustment."),
        ("apnoea", "Sleep apnoea",
         "Obstructive sleep apnoea is a disorder in which the airway repeatedly collapses during sleep, interrupting breathing and causing loud snoring and gasping. "
         "It leads to daytime sleepiness and is commonly treated with a CPAP machine that keeps the airway open with gentle air pressure."),
        ("snoring", "Snoring",
         "Snoring is the rattling sound of the soft palate and other tissues in the throat vibrating as air flows past them during sleep. "
         "It is more likely when sleeping on the back, after drinking alcohol and with nasal congestion, and sleeping on one side or raising the head of the bed often quietens it."),
        ("naps", "Napping",
         "A short nap of 10 to 20 minutes can improve alertness without much grogginess. "
         "Longer naps are more likely to reach deep sleep, and waking from it causes sleep inertia, a heavy, muddled feeling that can last half an hour."),
        ("insomnia", "Insomnia treatment",
         "Cognitive behavioural therapy for insomnia is recommended as the first treatment for chronic insomnia. "
         "It includes keeping a fixed wake-up time, using the bed only for sleep, and limiting time in bed to rebuild sleep pressure."),
        ("teens", "Teenage sleep",
         "During adolescence the circadian rhythm shifts later, so teenagers naturally feel sleepy and wake up later than children or adults. "
         "Early school start times conflict with this shift, which is why some schools have moved their first lessons later."),
    ],
    queries=[
        ("why do I wake up groggy after a long afternoon snooze", {"naps": 2}),
        ("how late in the day can I have coffee and still sleep", {"caffeine": 2, "adenosine": 1}),
        ("why was the trip home from Tokyo to London so much easier on my body than the trip out", {"jetlag": 2, "circadian": 1}),
        ("partner snores loudly and stops breathing at night", {"apnoea": 2}),
        ("why do adolescents stay up so late", {"teens": 2, "circadian": 1}),
    ],
)

topic(
    "coffee brewing",
    context=[
        "Weighing coffee and water on a kitchen scale makes results far more repeatable than using scoops.",
        "Freshly ground beans give noticeably better results with every brewing method.",
        "Baristas adjust these variables by taste, so published recipes are starting points.",
    ],
    docs=[
        brew("espresso", "Espresso", "espresso", "very fine", "about 18 grams of coffee for a 36-gram shot", "25 to 30 seconds",
             "Water is forced through the compacted puck at around nine bars of pressure, producing a concentrated shot topped with crema."),
        brew("frenchpress", "French press", "a French press", "coarse", "roughly 1 gram of coffee per 15 grams of water", "about four minutes",
             "Its metal mesh filter lets oils and fine particles through, giving a heavy body but leaving some silt at the bottom of the cup."),
        brew("pourover", "Pour-over", "pour-over", "medium-fine", "about 1 gram of coffee per 16 grams of water", "three to four minutes",
             "Pouring water in slow spirals over a paper filter gives a clean, bright cup, because the paper traps most of the coffee oils and fines."),
        brew("aeropress", "AeroPress", "the AeroPress", "fine to medium", "about 15 grams of coffee and 250 grams of water", "one to two minutes",
             "A plunger pushes the coffee through a small paper filter; the inverted method stops coffee dripping through before the brew is ready."),
        brew("coldbrew", "Cold brew", "cold brew", "very coarse", "1 part coffee to 5 to 8 parts water", "12 to 24 hours in the fridge",
             "Because the water is cold, fewer acids and bitter compounds are extracted, producing a smooth, low-acidity concentrate that is diluted before drinking."),
        brew("moka", "Moka pot", "a moka pot", "fine but not espresso-fine", "enough coffee to fill the basket level without tamping", "a few minutes on the stove",
             "Steam pressure from water heated in the lower chamber pushes water up through the grounds, giving a strong brew that is not true espresso, since the pressure is only about one to two bars."),
        brew("turkish", "Turkish coffee", "Turkish coffee", "powder-fine", "about one heaped teaspoon of coffee per small cup", "a few minutes over low heat",
             "The grounds are simmered with water, and often sugar, in a small pot called a cezve, and the coffee is served unfiltered so the grounds settle in the cup."),
        ("temperature", "Water temperature",
         "The Specialty Coffee Association recommends brewing with water between about 90 and 96 °C. "
         "Water that is too cool under-extracts, giving sour, thin coffee, while water straight off the boil can pull out harsh, bitter flavours."),
        ("extraction", "Extraction",
         "Sour, salty coffee usually means under-extraction: the grind is too coarse or the brew too short. "
         "Bitter, astringent coffee points to over-extraction, fixed by grinding coarser or shortening the brew. "
         "Adjusting grind size is the main lever for dialling in."),
        ("decaf", "Decaffeinated coffee",
         "Decaffeinated coffee is made by removing caffeine from green, unroasted beans, using water, organic solvents or pressurised carbon dioxide. "
         "The process removes about 97 percent of the caffeine, so a cup of decaf still contains a few milligrams, and the beans are then roasted in the usual way."),
        ("roast", "Roast levels",
         "Light roasts keep more of the bean's origin character, with fruity and floral acidity, while dark roasts taste of the roasting itself, with chocolate and smoky notes. "
         "Contrary to a common belief, dark roasts do not contain noticeably more caffeine per bean."),
        ("freshness", "Storing coffee",
         "Roasted coffee tastes best from a few days to about a month after roasting, once most of the carbon dioxide has escaped. "
         "Whole beans stay fresh much longer than pre-ground coffee, and they should be stored in an airtight container away from light, heat and moisture."),
        ("species", "Arabica and robusta",
         "Arabica beans grow at higher altitudes and are prized for sweetness and acidity, while robusta is hardier, more bitter and contains roughly twice as much caffeine. "
         "Many espresso blends include some robusta for body and crema."),
        ("water", "Water quality",
         "Brewed coffee is about 98 percent water, so the minerals in that water matter. "
         "Some magnesium and calcium help extract flavour, but very hard water scales machines and mutes acidity, while distilled water tastes flat."),
    ],
    queries=[
        ("my coffee tastes sour, what am I doing wrong", {"extraction": 2, "temperature": 1}),
        ("does a darker roast have more of a kick", {"roast": 2, "species": 1}),
        ("how long do I steep grounds in the refrigerator", {"coldbrew": 2}),
        ("why is there sludge at the bottom of my plunger pot", {"frenchpress": 2, "turkish": 1}),
        ("is a stovetop espresso maker real espresso", {"moka": 2, "espresso": 1}),
    ],
)

topic(
    "bread baking",
    context=[
        "Bakers usually weigh ingredients rather than measuring by volume, for consistent results.",
        "Experienced bakers judge many of these stages by feel and smell rather than by the clock.",
        "Kitchen temperature has a big effect on how quickly dough develops.",
    ],
    docs=[
        ("gluten", "Gluten",
         "Gluten forms when the wheat proteins glutenin and gliadin are hydrated and worked, creating an elastic network that traps gas and lets dough rise. "
         "Kneading or a series of folds strengthens the network; a dough that stretches thin enough to let light through without tearing passes the windowpane test."),
        ("starter", "Sourdough starter",
         "A sourdough starter is a culture of wild yeasts and lactic acid bacteria kept in flour and water. "
         "It is fed regularly by discarding part of it and adding fresh flour and water, and a healthy starter roughly doubles within four to eight hours of a feed, which is the best moment to bake with it."),
        ("breadflour", "Bread flour",
         "Bread flour is milled from hard wheat and contains about 12 to 14 percent protein, compared with roughly 10 to 12 percent for all-purpose flour. "
         "The extra protein forms more gluten, which gives loaves a taller rise and a chewier crumb, while low-protein cake flour makes tender, fine-textured sponges."),
        ("sourflavour", "Sourdough flavour",
         "The tang of sourdough comes from lactic and acetic acids made by the bacteria in the starter. "
         "A stiff starter kept cool favours acetic acid and a sharper, vinegary sourness, while a wet, warm starter gives milder, yoghurt-like flavours, so bakers can steer the taste of the finished loaf."),
        ("hydration", "Dough hydration",
         "Hydration is the weight of water divided by the weight of flour in a dough. "
         "A sandwich loaf might be around 60 percent, while open-crumbed breads such as ciabatta exceed 75 percent, which makes the dough much stickier to handle."),
        ("proofing", "Proofing",
         "An underproofed loaf is dense with large irregular holes and may burst open along the side in the oven, while an overproofed loaf spreads and collapses. "
         "The poke test helps: a gentle fingertip dent that springs back slowly means the dough is ready."),
        ("steam", "Oven steam",
         "Steam in the first minutes of baking keeps the crust soft so the loaf can expand fully, and it gelatinises surface starch for a glossy, crisp crust. "
         "Home bakers often bake in a preheated lidded cast-iron pot to trap the moisture released by the dough."),
        ("salt", "Salt in bread",
         "Salt, typically about 2 percent of the flour weight, seasons bread, tightens the gluten network and slows fermentation. "
         "Long direct contact with fresh yeast can weaken the yeast, so salt is often added after the initial mixing."),
        ("yeast", "Types of yeast",
         "Fresh yeast, active dry yeast and instant yeast are the same species, Saccharomyces cerevisiae, in different forms. "
         "Instant yeast can be mixed directly into flour, while active dry yeast is traditionally dissolved in warm water first; a recipe needs about two to three times as much fresh yeast by weight as instant yeast."),
        ("staling", "Staling",
         "Bread goes stale mainly because its starch recrystallises and pushes out moisture, not simply because it dries out. "
         "Staling is fastest at refrigerator temperatures, so bread keeps better at room temperature or frozen, and briefly reheating a stale loaf reverses the process."),
        ("autolyse", "Autolyse",
         "An autolyse is a rest in which only flour and water are mixed and left for 20 minutes to an hour before adding yeast and salt. "
         "The flour hydrates fully and enzymes begin their work, so the dough becomes smoother and needs less kneading."),
        ("scoring", "Scoring",
         "Scoring means slashing the top of a loaf with a razor blade just before baking. "
         "The cut controls where the bread expands in the oven, creating a raised ear along the slash and preventing random tearing."),
        ("doneness", "Checking doneness",
         "A loaf is usually baked when its internal temperature reaches about 93 to 99 °C, or when it sounds hollow when tapped on the base. "
         "Cutting it while hot lets steam escape and leaves the crumb gummy, so it should cool first."),
    ],
    queries=[
        ("why does bread go hard quicker when kept in the fridge", {"staling": 2}),
        ("how can I tell my sourdough culture is ready to use", {"starter": 2}),
        ("my loaf tore open on one side while baking", {"proofing": 2, "scoring": 1, "steam": 1}),
        ("recipe says 7 g of dried yeast but I only have the fresh kind, how much do I use", {"yeast": 2}),
        ("why is the inside of my homemade bread gummy", {"doneness": 2, "proofing": 1}),
    ],
)

topic(
    "weather",
    context=[
        "Meteorologists combine satellite images, weather balloons and computer models to study these processes.",
        "These effects are felt differently depending on latitude and distance from the sea.",
        "Local forecasts take such factors into account when predicting the next few days.",
    ],
    docs=[
        ("humidity", "Relative humidity",
         "Relative humidity is the amount of water vapour in the air compared with the maximum the air could hold at that temperature. "
         "Because warm air can hold more moisture, the same amount of vapour gives a lower relative humidity on a warm afternoon than on a cool morning."),
        ("dewpoint", "Dew point",
         "The dew point is the temperature to which air must cool to become saturated. "
         "When grass or car windows cool below the dew point overnight, water vapour condenses on them as dew, or as frost if the temperature is below freezing."),
        ("thunder", "Thunder and lightning",
         "Lightning heats the air along its path to around 30,000 °C, and the sudden expansion produces the sound of thunder. "
         "Since light arrives almost instantly and sound travels about a kilometre every three seconds, counting the seconds between flash and rumble estimates how far away the storm is."),
        ("lightningsafety", "Lightning safety",
         "Lightning can strike more than 15 kilometres from the storm that produces it, so if thunder can be heard at all, the storm is close enough to be dangerous. "
         "The safest places are enclosed buildings and hard-topped cars; open fields, hilltops and isolated trees should be avoided, and outdoor activity should wait until 30 minutes after the last thunder."),
        ("rainbow", "Rainbows",
         "A rainbow appears when sunlight is refracted, reflected inside raindrops and refracted again, splitting white light into its colours. "
         "It can be seen only with the Sun behind the observer, and a fainter secondary bow with reversed colours sometimes appears outside the main one."),
        ("fronts", "Weather fronts",
         "A cold front forms where cold air pushes under warmer air, often bringing a narrow band of heavy showers and a sharp drop in temperature. "
         "A warm front rises gently over cooler air and tends to bring long periods of steady, light rain."),
        ("cyclones", "Tropical cyclones",
         "Hurricanes, typhoons and cyclones are the same phenomenon, named differently by region. "
         "They form over ocean water warmer than about 26 °C and weaken quickly over land, where they lose their supply of warm, moist air."),
        ("coriolis", "Coriolis effect",
         "Because Earth rotates, moving air is deflected to the right in the Northern Hemisphere and to the left in the Southern Hemisphere. "
         "This Coriolis effect makes large storms spin anticlockwise in the north and clockwise in the south, but it is far too weak to decide which way water drains from a sink."),
        ("seasons", "Seasons",
         "Seasons are caused by the tilt of Earth's axis, about 23.4 degrees, not by changes in distance from the Sun. "
         "In fact Earth is closest to the Sun in early January, during the northern winter."),
        ("tradewinds", "Trade winds",
         "The trade winds blow steadily towards the equator from the north-east in the Northern Hemisphere and from the south-east in the Southern Hemisphere. "
         "Sailing ships relied on them to cross the Atlantic, and their easterly direction comes from the deflection of air flowing towards the equator."),
        ("fog", "Fog",
         "Radiation fog forms on clear, calm nights when the ground loses heat and cools the air above it to its dew point; it usually burns off in the morning as the Sun warms the ground. "
         "Advection fog forms when moist air drifts over a cold surface such as a cool sea."),
        ("greenhouse", "Greenhouse effect",
         "Greenhouse gases such as carbon dioxide, methane and water vapour let sunlight through but absorb part of the heat radiated back by the surface. "
         "Without this natural effect Earth's average temperature would be around −18 °C instead of about 15 °C; adding more of these gases strengthens it."),
        ("windchill", "Wind chill",
         "Wind chill describes how cold it feels on exposed skin when wind carries body heat away faster. "
         "It does not lower the actual air temperature, so a car engine or a water pipe cannot cool below the air temperature however hard the wind blows."),
    ],
    queries=[
        ("how far away is the storm if I count the seconds after the flash", {"thunder": 2, "lightningsafety": 1}),
        ("why is it winter in the north when the earth is nearest the sun", {"seasons": 2}),
        ("does water swirl the other way down the plughole in australia", {"coriolis": 2}),
        ("why is my windscreen wet in the morning when it hasn't rained", {"dewpoint": 2, "fog": 1}),
    ],
)

topic(
    "oceans",
    context=[
        "Oceanographers measure these processes with buoys, research ships and satellites.",
        "The oceans cover about 71 percent of Earth's surface and strongly influence climate.",
        "Coastal communities have relied on this knowledge for centuries.",
    ],
    docs=[
        ("tides", "Tides",
         "Tides are caused mainly by the Moon's gravity, which pulls the ocean into two bulges, one facing the Moon and one on the opposite side of Earth. "
         "As Earth rotates through both bulges, most coasts see two high tides and two low tides roughly every 24 hours and 50 minutes."),
        ("springtide", "Spring and neap tides",
         "Spring tides, with the largest tidal range, occur around new and full moon, when the Sun and Moon pull in line. "
         "Neap tides, with the smallest range, happen at the quarter moons, when their pulls are at right angles. "
         "The name spring has nothing to do with the season."),
        ("salt", "Why the sea is salty",
         "The sea is salty because rivers carry dissolved minerals from weathered rocks into the ocean, and when water evaporates the salts stay behind. "
         "Average seawater contains about 35 grams of dissolved salts per litre, mostly sodium chloride."),
        ("gulfstream", "Gulf Stream",
         "The Gulf Stream is a powerful, warm current that flows from the Gulf of Mexico along the east coast of North America and out across the Atlantic. "
         "Its continuation, the North Atlantic Current, helps give northwestern Europe milder winters than places at similar latitudes in Canada."),
        ("tsunami", "Tsunamis",
         "A tsunami is a series of waves usually generated by an undersea earthquake that suddenly shifts the sea floor. "
         "In deep water the waves travel at several hundred kilometres per hour but are barely noticeable; they slow and grow tall as they reach shallow coastal water. "
         "A sudden retreat of the sea is a natural warning sign."),
        ("rip", "Rip currents",
         "A rip current is a narrow channel of water flowing rapidly away from the shore. "
         "Swimmers caught in one should not fight it directly but swim parallel to the beach until they are out of the current, and then head back to land."),
        ("flags", "Beach flags",
         "Many lifeguarded beaches use flags to guide swimmers: red and yellow flags mark the patrolled area where swimming is safest, a red flag means swimming is dangerous, and a black and white chequered flag marks an area for surfboards and kayaks. "
         "Swimming between the flags keeps people within sight of lifeguards."),
        ("waves", "Wind waves",
         "Ordinary sea waves are created by wind blowing over the water surface. "
         "Their height depends on the wind speed, how long it blows and the fetch, the distance of open water it blows across; waves that travel far from the storm that made them are called swell."),
        ("trench", "Mariana Trench",
         "The deepest known point in the ocean is the Challenger Deep in the Mariana Trench in the western Pacific, at nearly 11,000 metres. "
         "The pressure there is more than a thousand times that at sea level."),
        ("acidification", "Ocean acidification",
         "The oceans absorb roughly a quarter of the carbon dioxide that humans emit. "
         "Dissolved carbon dioxide forms carbonic acid, lowering seawater pH and making it harder for corals, oysters and other organisms to build shells and skeletons from calcium carbonate."),
        ("colour", "Colour of the sea",
         "Clear seawater looks blue because water absorbs red light more strongly than blue, so mostly blue light is scattered back to the eye. "
         "Green or brown water usually contains plankton, sediment or dissolved organic matter."),
    ],
    queries=[
        ("why are there two high waters every day", {"tides": 2, "springtide": 1}),
        ("what should a swimmer do when dragged out to sea", {"rip": 2}),
        ("why are british winters mild compared to canada", {"gulfstream": 2}),
        ("how did the oceans become briny", {"salt": 2}),
    ],
)

topic(
    "vitamins",
    context=[
        "A varied diet provides enough of most vitamins for healthy adults.",
        "Recommended daily amounts differ with age, sex and pregnancy.",
        "Supplements can help in specific situations but are not a substitute for food.",
    ],
    docs=[
        vitamin("vita", "Vitamin A", "fat-soluble",
                "liver, eggs, and orange and dark green vegetables such as carrots and spinach, which supply beta-carotene",
                "is needed for vision in dim light, for immune function and for healthy skin",
                "Deficiency first shows up as night blindness and remains a leading cause of preventable childhood blindness worldwide."),
        vitamin("b12", "Vitamin B12, or cobalamin,", "water-soluble",
                "meat, fish, eggs and dairy products, since plants do not reliably provide it",
                "helps form red blood cells and keeps nerves healthy",
                "Deficiency can cause anaemia and nerve damage, and people on a vegan diet are advised to take a supplement or eat fortified foods."),
        vitamin("vitc", "Vitamin C, or ascorbic acid,", "water-soluble",
                "citrus fruit, peppers, strawberries, broccoli and potatoes",
                "is needed to make collagen, the protein that holds together skin, blood vessels and gums",
                "Severe deficiency causes scurvy, which was once common among sailors on long voyages until citrus juice became part of naval rations."),
        vitamin("vitd", "Vitamin D", "fat-soluble",
                "oily fish, egg yolks and fortified foods, although most of it is made in the skin in sunlight",
                "helps the body absorb calcium and phosphate for strong bones",
                "Deficiency causes rickets in children and osteomalacia in adults and is common in winter at high latitudes."),
        vitamin("vitk", "Vitamin K", "fat-soluble",
                "leafy greens such as kale and spinach, and bacteria in the gut also make some",
                "is essential for blood clotting",
                "Newborn babies are routinely given a vitamin K injection because they are born with low stores and are at risk of bleeding."),
        vitamin("folate", "Folate, or vitamin B9,", "water-soluble",
                "leafy greens, legumes and fortified cereals",
                "is needed for making DNA and for cell division",
                "Adequate intake before and during early pregnancy reduces the risk of neural tube defects such as spina bifida."),
        vitamin("thiamine", "Thiamine, or vitamin B1,", "water-soluble",
                "whole grains, pork, legumes and seeds",
                "helps convert carbohydrates into energy",
                "Deficiency causes beriberi, which became widespread in parts of Asia when polished white rice, stripped of its bran, replaced brown rice."),
        vitamin("vite", "Vitamin E", "fat-soluble",
                "nuts, seeds and vegetable oils",
                "acts as an antioxidant that protects cell membranes from damage",
                "Deficiency is rare and usually linked to conditions that impair the absorption of fat."),
        vitamin("niacin", "Niacin, or vitamin B3,", "water-soluble",
                "meat, fish, peanuts and whole grains",
                "forms part of coenzymes involved in energy metabolism",
                "Deficiency causes pellagra, marked by dermatitis, diarrhoea and dementia, which was once common where diets relied heavily on untreated maize."),
        ("heelprick", "Newborn screening",
         "A few days after birth, a heel-prick blood test screens babies for rare but serious conditions such as phenylketonuria, congenital hypothyroidism and sickle cell disease. "
         "Early detection allows treatment, often a special diet or medication, to start before lasting harm occurs."),
        ("solubility", "Fat- and water-soluble vitamins",
         "Vitamins A, D, E and K are fat-soluble: they are absorbed with dietary fat and stored in the liver and fatty tissue, so excessive supplement doses can build up to toxic levels. "
         "The B vitamins and vitamin C are water-soluble, and most of any excess is excreted in urine."),
        ("iron", "Iron absorption",
         "Iron from meat, called haem iron, is absorbed more readily than the non-haem iron in plants. "
         "Eating foods rich in vitamin C with a plant-based meal increases non-haem iron absorption, while tea and coffee taken with meals reduce it."),
        ("fibre", "Dietary fibre",
         "Dietary fibre is the part of plant foods that human enzymes cannot digest. "
         "Soluble fibre, found in oats and beans, can help lower blood cholesterol, while insoluble fibre in whole grains and vegetable skins adds bulk and helps prevent constipation."),
    ],
    queries=[
        ("what illness did old-time sailors get from a lack of fruit", {"vitc": 2}),
        ("which nutrient is hard to get from a plant-only diet", {"b12": 2}),
        ("why do babies get a jab right after they are born", {"vitk": 2}),
        ("can taking too many vitamin pills be dangerous", {"solubility": 2}),
        ("why is it good to drink orange juice with a lentil dinner", {"iron": 2, "vitc": 1}),
    ],
)

topic(
    "running",
    context=[
        "Coaches tailor these guidelines to each runner's experience and goals.",
        "Beginners are advised to increase training gradually to give the body time to adapt.",
        "Many running clubs organise group sessions built around these ideas.",
    ],
    docs=[
        ("tenpercent", "Weekly mileage",
         "A popular guideline says weekly running distance should rise by no more than about 10 percent from one week to the next. "
         "The rule is rough, but sudden jumps in volume are strongly associated with overuse injuries such as shin splints and stress fractures."),
        ("easy", "Easy runs",
         "Most training for distance runners is done at an easy, conversational pace, often around 80 percent of weekly volume. "
         "Easy running builds aerobic capacity, capillaries and mitochondria while allowing recovery from harder sessions."),
        ("intervals", "Interval training",
         "Interval training alternates short periods of hard running with recovery jogs, for example six repeats of 800 metres with two minutes of rest. "
         "It improves VO2 max and running economy more efficiently than steady running alone."),
        ("tempo", "Tempo runs",
         "A tempo run is a sustained effort of 20 to 40 minutes at roughly lactate threshold pace, the fastest pace that can be held for about an hour. "
         "It trains the body to clear lactate and to tolerate a comfortably hard effort."),
        ("taper", "Tapering",
         "Before a marathon, runners usually cut their training volume over the final two to three weeks while keeping some intensity. "
         "This taper lets muscles repair and glycogen stores fill, and studies show it improves race performance by a few percent."),
        ("wall", "Hitting the wall",
         "Marathoners who hit the wall around 30 kilometres have usually run out of stored glycogen, forcing the body to rely more on slower fat metabolism. "
         "Taking in carbohydrate during the race, commonly 30 to 60 grams per hour, helps delay it."),
        ("shinsplints", "Shin splints",
         "Shin splints, or medial tibial stress syndrome, cause aching along the inner edge of the shinbone, usually after a rapid increase in training. "
         "Rest, a gradual return and strengthening the calves typically resolve it; pain focused on one spot may indicate a stress fracture instead."),
        ("cadence", "Cadence",
         "Cadence is the number of steps taken per minute. "
         "Increasing it by five to ten percent at the same speed shortens the stride and reduces the impact forces on knees and hips, which some runners use to manage injuries."),
        ("shoes", "Running shoes",
         "Research has not shown that choosing shoes by foot arch type prevents injuries; comfort appears to be a better guide. "
         "Many runners replace their shoes after 500 to 800 kilometres, when the midsole cushioning has compressed."),
        ("pacing", "Marathon pacing",
         "Even pacing is generally the most economical way to run a marathon. "
         "Runners who start much faster than their goal pace, carried along by the crowd and fresh legs, often pay for it in the final ten kilometres, when their pace can drop sharply."),
        ("heat", "Running in heat",
         "Heat raises the heart rate at a given pace because more blood is sent to the skin for cooling. "
         "It takes about one to two weeks of regular exercise in warm conditions to acclimatise, and runners should slow down and drink according to thirst."),
        ("stitch", "Side stitch",
         "A side stitch is a sharp pain just below the ribs during exercise, most common after eating or drinking shortly before a run. "
         "Slowing down, breathing deeply and pressing on the painful spot usually ease it."),
    ],
    queries=[
        ("how quickly can I build up my weekly distance", {"tenpercent": 2, "shinsplints": 1}),
        ("around mile twenty my legs turn to lead and I slow right down", {"wall": 2, "pacing": 1}),
        ("stabbing ache under my ribcage when jogging", {"stitch": 2}),
        ("what should I do in the last few weeks before race day", {"taper": 2}),
        ("how fast should a tempo session be", {"tempo": 2}),
    ],
)

topic(
    "beekeeping",
    context=[
        "Beekeepers inspect their hives regularly during the active season to catch problems early.",
        "Local beekeeping associations run courses that cover these basics.",
        "Colony behaviour changes with the season and the weather.",
    ],
    docs=[
        ("castes", "Members of the colony",
         "A honey bee colony contains one queen, tens of thousands of female worker bees and, in summer, a few hundred to a few thousand male drones. "
         "Workers do all the foraging and hive tasks, while drones exist only to mate with queens from other colonies."),
        ("waggle", "Waggle dance",
         "Foraging bees communicate the location of good flowers with the waggle dance. "
         "The angle of the waggle run relative to vertical shows the direction of the food relative to the Sun, and the duration of the waggle indicates the distance."),
        ("honey", "Making honey",
         "Bees make honey by collecting nectar, adding enzymes and evaporating water by fanning their wings until the moisture content falls below about 18 to 20 percent. "
         "They then seal the cells with wax caps; this low water content is why honey resists spoilage."),
        ("crystallised", "Crystallised honey",
         "Most honey eventually turns solid and grainy as its glucose forms crystals, sooner in cool cupboards and in honeys rich in glucose such as rapeseed honey. "
         "Crystallised honey is perfectly safe to eat, and gently warming the jar in a bowl of hot water turns it liquid again."),
        ("swarm", "Swarming",
         "Swarming is how colonies reproduce: the old queen leaves with about half the workers to find a new home, while a new queen is raised in the original hive. "
         "A swarm hanging from a branch is usually calm because the bees are full of honey and have no brood to defend."),
        ("varroa", "Varroa mites",
         "The Varroa destructor mite feeds on bees and their developing brood and spreads viruses such as deformed wing virus. "
         "It is the most serious threat to honey bees worldwide, and beekeepers monitor mite levels with sugar rolls or sticky boards and treat when counts exceed a threshold."),
        ("smoke", "Using smoke",
         "Beekeepers puff cool smoke at the hive entrance before opening it. "
         "The smoke masks the alarm pheromone released by guard bees and prompts the bees to gorge on honey, which makes them less likely to sting."),
        ("winter", "Overwintering",
         "Honey bees do not hibernate. "
         "In winter they form a tight cluster around the queen and shiver their flight muscles to keep the centre of the cluster warm even in freezing weather, eating stored honey for energy; a colony may need 20 kilograms or more to last until spring."),
        ("spring", "Spring build-up",
         "In late winter the queen resumes laying and the colony begins to grow rapidly, using up stored food to rear brood. "
         "Colonies are at greatest risk of starving in early spring for this reason, so beekeepers check the weight of the hive and feed sugar syrup or fondant when stores run low."),
        ("queen", "Raising a queen",
         "Any fertilised egg can become a queen. "
         "Larvae destined to be queens are fed royal jelly throughout their development in large vertical cells, which triggers the growth of functioning ovaries and a larger body."),
        ("stinging", "Why bees die after stinging",
         "A worker honey bee's sting is barbed, so when it stings a mammal with thick skin the sting lodges and is torn from the bee's abdomen, killing it. "
         "Queens have smooth stings and can sting repeatedly, and bumblebees and wasps do not lose theirs."),
        ("venom", "Bee venom",
         "Honey bee venom is a mixture of proteins and peptides, chiefly melittin, which damages cell membranes and causes the burning pain of a sting. "
         "Most people react only with local swelling, and beekeepers who are stung often may develop some tolerance, although a few become more sensitive over time."),
        ("pollination", "Pollination",
         "Bees transfer pollen between flowers as they forage, pollinating crops such as apples, almonds and many berries. "
         "Some plants, such as tomatoes, release pollen best when shaken, which bumblebees do by vibrating their flight muscles, a process called buzz pollination."),
    ],
    queries=[
        ("how do bees tell their sisters where the flowers are", {"waggle": 2}),
        ("why can a jar of honey sit in the cupboard for years and still be fine to eat", {"honey": 2, "crystallised": 1}),
        ("what does a hive do to get through the cold months", {"winter": 2}),
        ("does a bee die after it stings you", {"stinging": 2}),
    ],
)

topic(
    "computer networking",
    context=[
        "These mechanisms are defined in standards published as RFCs by the Internet Engineering Task Force.",
        "Network engineers use tools such as ping, traceroute and packet captures to observe this behaviour.",
        "Home routers handle most of this automatically.",
    ],
    docs=[
        ("dns", "DNS",
         "The Domain Name System translates human-readable names such as example.com into IP addresses. "
         "A resolver queries the root servers, then the servers for the top-level domain, and finally the domain's authoritative servers, caching answers for the time-to-live set by the owner."),
        ("tcpudp", "TCP and UDP",
         "TCP provides a reliable, ordered byte stream with retransmission of lost packets and congestion control, at the cost of extra round trips. "
         "UDP sends independent datagrams with no delivery guarantee, which suits video calls and multiplayer games, where late data is useless anyway."),
        ("handshake", "TCP handshake",
         "A TCP connection opens with a three-way handshake: the client sends SYN, the server replies with SYN-ACK, and the client answers with ACK. "
         "Only then can data flow, which is one reason opening many short connections is slow."),
        ("nat", "Network address translation",
         "Network address translation lets many devices on a home network share one public IPv4 address. "
         "The router rewrites the source address and port of outgoing packets and keeps a table so that replies can be sent back to the right device."),
        ("dhcp", "DHCP",
         "The Dynamic Host Configuration Protocol automatically assigns a device its IP address, subnet mask, default gateway and DNS servers when it joins a network. "
         "Addresses are leased for a limited time and renewed while the device stays connected."),
        ("ipv6", "IPv6",
         "IPv6 uses 128-bit addresses instead of the 32 bits of IPv4, giving about 3.4 × 10^38 possible addresses. "
         "It was introduced because the roughly 4.3 billion IPv4 addresses ran out as the internet grew."),
        ("tls", "TLS",
         "Transport Layer Security encrypts traffic between a browser and a website and authenticates the server with a certificate signed by a trusted certificate authority. "
         "The padlock icon indicates an HTTPS connection protected by TLS, not that the site itself is trustworthy."),
        ("latency", "Latency and bandwidth",
         "Bandwidth is how much data a link can carry per second, while latency is how long a packet takes to arrive. "
         "A connection can have high bandwidth yet feel sluggish for interactive use if latency is high, as with geostationary satellite links."),
        ("subnet", "Subnets",
         "A subnet mask or CIDR prefix such as /24 splits an IP address into a network part and a host part. "
         "A /24 network has 256 addresses, of which 254 are usable for hosts because the first and last are reserved."),
        ("ports", "Ports",
         "Port numbers let one machine run many network services at once. "
         "Well-known ports include 80 for HTTP, 443 for HTTPS and 22 for SSH, and a firewall can allow or block traffic by port."),
        ("wifi", "Wi-Fi bands",
         "Home Wi-Fi usually operates in the 2.4 GHz and 5 GHz bands. "
         "The 2.4 GHz band reaches further through walls but is crowded and slower, while 5 GHz offers more channels and higher speeds over a shorter range. "
         "Placing the router centrally and away from metal objects improves coverage."),
        ("quic", "QUIC",
         "QUIC is the transport protocol underneath HTTP/3. "
         "It runs over UDP but adds its own encryption, loss recovery and congestion control, and it can set up a secure connection in fewer round trips than TCP with TLS, which makes web pages start loading sooner."),
        ("mtu", "MTU",
         "The maximum transmission unit is the largest packet a link can carry, commonly 1,500 bytes on Ethernet. "
         "Larger packets must be fragmented or dropped, and mismatched MTU settings can cause connections that open successfully but stall when transferring large amounts of data."),
    ],
    queries=[
        ("how does my computer turn a website name into a number", {"dns": 2}),
        ("why do multiplayer shooters send updates that may get lost instead of using a reliable connection", {"tcpudp": 2}),
        ("fast downloads but video calls still lag", {"latency": 2}),
        ("is a website trustworthy just because its connection is encrypted", {"tls": 2}),
        ("who hands my laptop an address when I join the wifi", {"dhcp": 2, "nat": 1}),
    ],
)

topic(
    "personal finance",
    context=[
        "This is general information rather than personal financial advice.",
        "Fees, taxes and personal circumstances can change which option makes sense.",
        "Financial regulators publish guides explaining these basics for consumers.",
    ],
    docs=[
        ("compound", "Compound interest",
         "Compound interest means earning interest on previously earned interest as well as on the original deposit. "
         "The rule of 72 gives a quick estimate: dividing 72 by the annual rate shows roughly how many years it takes for money to double, so about 12 years at 6 percent."),
        ("indexfund", "Index funds",
         "An index fund holds all, or a representative sample, of the securities in a market index such as the S&P 500 instead of trying to pick winners. "
         "Thanks to low fees and broad diversification, index funds have outperformed most actively managed funds over long periods."),
        ("diversify", "Diversification",
         "Diversification spreads money across many investments so that the failure of any single company or sector has a limited effect. "
         "It reduces the risk specific to individual holdings, although it cannot remove the risk of the market as a whole falling."),
        ("emergency", "Emergency fund",
         "An emergency fund is cash set aside for unexpected costs such as job loss or urgent repairs. "
         "A common guideline is three to six months of essential expenses, kept in an easily accessible savings account rather than invested in shares."),
        ("savingsacct", "Savings accounts",
         "Banks advertise savings rates as an annual figure, often called the annual percentage yield or annual equivalent rate, which already includes the effect of interest being added monthly or quarterly. "
         "Comparing this figure rather than the nominal rate makes offers with different payment schedules directly comparable."),
        ("inflation", "Inflation",
         "Inflation is the general rise in prices over time, which reduces what a given amount of money can buy. "
         "Savings earning less interest than the inflation rate lose purchasing power even though the balance grows."),
        ("bonds", "Bonds",
         "A bond is a loan to a government or company that pays regular interest and returns the principal at maturity. "
         "When interest rates rise, the prices of existing bonds fall, because new bonds offer better payments."),
        ("ratings", "Bond ratings",
         "Credit rating agencies grade bonds according to the issuer's ability to repay, from AAA for the safest borrowers down to the speculative grades often called junk. "
         "Lower-rated bonds must pay higher interest to attract buyers, compensating them for a greater risk of default."),
        ("apr", "APR",
         "The annual percentage rate expresses the yearly cost of borrowing, including interest and certain fees. "
         "Credit cards often carry APRs far higher than personal loans or mortgages, so carrying a balance from month to month is an expensive way to borrow."),
        ("creditscore", "Credit scores",
         "A credit score summarises how reliably someone has repaid debt. "
         "Paying bills on time and keeping card balances well below their limits are the strongest positive factors, while missed payments and many recent applications lower the score."),
        ("dca", "Dollar-cost averaging",
         "Dollar-cost averaging invests a fixed amount at regular intervals regardless of price, so more shares are bought when prices are low and fewer when they are high. "
         "It removes the temptation to time the market, though investing a lump sum at once has historically come out ahead slightly more often."),
        ("budget", "50/30/20 budget",
         "The 50/30/20 rule is a simple budgeting guideline: about half of after-tax income goes to needs such as rent and groceries, 30 percent to wants, and 20 percent to savings and paying down debt."),
    ],
    queries=[
        ("how long does it take to double my savings at 6 percent", {"compound": 2}),
        ("why do bond prices drop when rates go up", {"bonds": 2}),
        ("how many months of bills should I have put away in case I lose my job", {"emergency": 2}),
        ("should I put my windfall in the market all at once or bit by bit", {"dca": 2}),
    ],
)

topic(
    "woodworking",
    context=[
        "Safety glasses and hearing protection are standard in any workshop.",
        "Hand tools and power tools can both do these jobs, with different trade-offs in speed and control.",
        "Practising on scrap wood before working on a project piece avoids costly mistakes.",
    ],
    docs=[
        ("movement", "Wood movement",
         "Wood expands and shrinks with changes in humidity, mostly across the grain rather than along it. "
         "Tabletops are therefore fastened with slotted screws or wooden buttons that let the boards move; gluing a wide panel rigidly on all sides can make it crack."),
        ("moisture", "Moisture content",
         "Timber should be dried to a moisture content close to the conditions where it will be used, roughly 6 to 9 percent for furniture in heated homes. "
         "A pin or pinless moisture meter checks this before building."),
        ("hardsoft", "Hardwood and softwood",
         "Hardwood and softwood are botanical terms, not measures of hardness: hardwoods come from flowering broadleaf trees and softwoods from conifers. "
         "Balsa, one of the lightest and softest woods, is technically a hardwood, while yew, a conifer, is quite hard."),
        ("dovetail", "Dovetail joints",
         "A dovetail joint interlocks flared tails on one board with matching pins on another. "
         "It resists being pulled apart in one direction even without glue, which is why it is traditionally used for drawer fronts."),
        ("mortise", "Mortise and tenon",
         "The mortise and tenon joint fits a tongue, the tenon, on the end of one piece into a rectangular hole, the mortise, in another. "
         "It has joined table legs to rails and framed doors for thousands of years because of its large glue surface and mechanical strength."),
        ("sanding", "Sanding",
         "Sanding usually progresses through grits, for example 80, 120, 180 and then 220, each removing the scratches of the previous one. "
         "Skipping more than one grade leaves deep scratches that show up when finish is applied, and sanding should follow the direction of the grain."),
        ("oil", "Oil finishes",
         "Penetrating oils such as linseed and tung oil soak into the wood and harden, giving a natural look that is easy to repair but offers only modest protection from water. "
         "Rags soaked in these oils can heat up as they cure and catch fire by themselves, so they should be laid flat to dry or kept in water."),
        ("varnish", "Film finishes",
         "Film finishes such as polyurethane and varnish form a hard layer on the surface that resists water, heat and scratches better than oil. "
         "Several thin coats, lightly sanded between coats, give a smoother result than one thick coat."),
        ("tearout", "Tear-out",
         "Tear-out happens when a plane or cutter lifts and breaks fibres instead of slicing them, usually when working against the grain. "
         "Planing in the direction in which the grain rises, using a sharp blade and taking lighter cuts reduces it."),
        ("kickback", "Table saw kickback",
         "Kickback occurs when a table saw blade grabs a workpiece and throws it back towards the operator at high speed. "
         "A riving knife keeps the cut from closing on the blade, and setting the fence so that the wood is not pinched against the blade prevents most incidents."),
        ("glue", "Wood glue",
         "Ordinary PVA wood glue forms a bond stronger than the wood itself on well-fitted long-grain joints. "
         "Clamps should apply firm, even pressure for about 30 minutes to an hour, and end-grain surfaces glue poorly because they soak up the adhesive."),
    ],
    queries=[
        ("why did my solid wood tabletop split", {"movement": 2, "moisture": 1}),
        ("is pine classed as a hardwood", {"hardsoft": 2}),
        ("is it dangerous to leave oily cloths balled up in the garage after finishing a table", {"oil": 2}),
        ("the saw flung the board back at me", {"kickback": 2}),
    ],
)

topic(
    "dog training",
    context=[
        "Professional trainers generally favour reward-based methods over punishment.",
        "Consistency between all members of a household speeds up learning.",
        "Short, frequent sessions work better than long ones for most dogs.",
    ],
    docs=[
        ("clicker", "Marker training",
         "Clicker training uses a distinct sound, such as a click, to mark the exact moment a dog performs the desired behaviour, followed immediately by a reward. "
         "The marker bridges the gap between action and treat, so the dog learns precisely what earned it."),
        ("recall", "Recall",
         "To teach a reliable recall, practise coming when called in a quiet place first and reward generously every time. "
         "Never call a dog over to punish it, and avoid repeating the cue when the dog ignores it, because the word soon loses its meaning."),
        ("leash", "Loose-lead walking",
         "Dogs pull on the lead because pulling gets them where they want to go. "
         "Stopping whenever the lead goes tight and moving on only once it slackens, while rewarding the dog for walking beside you, teaches that a loose lead is what makes walks continue."),
        ("longline", "Long lines",
         "A long training line of five to ten metres lets a dog run and sniff in open spaces while the handler keeps control. "
         "It is a useful bridge while a recall is still unreliable, preventing the dog from learning that it can ignore the cue and run off."),
        ("crate", "Crate training",
         "A crate can become a den where a dog feels safe if it is introduced gradually, with meals and toys inside. "
         "It should never be used as punishment, and adult dogs should not be confined in it for most of the day."),
        ("housetraining", "House training",
         "Puppies need to relieve themselves after waking, eating and playing, and roughly every one to two hours when very young. "
         "Taking the puppy outside at those times and rewarding it for going in the right spot speeds house training; accidents should be cleaned with an enzymatic cleaner to remove the scent."),
        ("socialisation", "Socialisation",
         "Puppies are most receptive to new people, animals and environments between about three and fourteen weeks of age. "
         "Gentle, positive exposure during this window reduces fear and aggression later in life."),
        ("separation", "Separation anxiety",
         "Dogs with separation anxiety may howl, chew doors or soil the house when left alone. "
         "Treatment involves practising very short absences that the dog can tolerate and gradually lengthening them, sometimes with help from a vet or behaviourist."),
        ("jumping", "Jumping up",
         "Dogs jump up on people to greet them, and the attention they receive rewards it. "
         "Turning away and rewarding the dog only when all four paws are on the floor teaches a polite greeting."),
        ("chewing", "Chewing",
         "Puppies chew to explore and to relieve teething pain, which peaks between about three and six months of age. "
         "Providing suitable chew toys and removing tempting objects is more effective than scolding."),
        ("barking", "Barking",
         "Dogs bark to raise an alarm, to ask for attention, out of boredom or from excitement, and the right response depends on the cause. "
         "Barking for attention fades if it is consistently ignored and quiet behaviour is rewarded, while a dog that barks from boredom usually needs more exercise and mental stimulation."),
        ("reactive", "Reactive dogs",
         "A reactive dog barks and lunges at triggers such as other dogs. "
         "Keeping the trigger at a distance where the dog stays calm and pairing its appearance with treats gradually changes the dog's emotional response, a method called counter-conditioning."),
    ],
    queries=[
        ("my dog ignores me when I call it at the park", {"recall": 2, "longline": 1}),
        ("stop my dog dragging me along on walks", {"leash": 2}),
        ("my dog goes mad barking at other dogs on the street", {"reactive": 2, "barking": 1}),
        ("my dog wrecks the house whenever I go out", {"separation": 2, "chewing": 1}),
        ("what is the point of the clicking device trainers use", {"clicker": 2}),
    ],
)

# ---------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------


def words(text):
    return len(text.split())


def sentences(text):
    return len(re.findall(r"[.!?](?: (?=[A-Z])|$)", text))


def compose(rng, topic_name, text, context, usage):
    """Appends 0-2 of the topic's context sentences to a passage, least-used first.

    They go after the fact snippet because most of them refer back to it ("these steps ...").
    """
    want = rng.choice([0, 1, 1, 2])
    if words(text) < MIN_WORDS + 5:
        want = max(want, 1)
    after = []
    taken = set()
    for _ in range(want):
        order = sorted(
            (i for i in range(len(context)) if i not in taken),
            key=lambda i: (usage[i], rng.random()),
        )
        if not order:
            break
        i = order[0]
        if words(text) + sum(words(s) for s in after) + words(context[i]) > MAX_WORDS - 5:
            break
        if sentences(text) + len(after) + 1 > MAX_SENTENCES:
            break
        taken.add(i)
        usage[i] += 1
        after.append(context[i])
    out = " ".join([text] + after)
    n = words(out)
    while n < MIN_WORDS:  # still short: append one more unused context sentence
        rest = [i for i in range(len(context)) if i not in taken]
        if not rest:
            break
        i = min(rest, key=lambda i: usage[i])
        taken.add(i)
        usage[i] += 1
        out = out + " " + context[i]
        n = words(out)
    if not MIN_WORDS <= n <= MAX_WORDS or not 2 <= sentences(out) <= MAX_SENTENCES:
        sys.exit(f"{topic_name}: passage has {n} words, {sentences(out)} sentences: {out[:60]}...")
    return out


def build():
    rng = random.Random(SEED)
    docs = []  # (topic, key, title, text)
    queries = []  # (topic, text, {key: grade})
    for t in TOPICS:
        usage = [0] * len(t["context"])
        keys = set()
        for key, title, text in t["docs"]:
            if key in keys:
                sys.exit(f"{t['name']}: duplicate doc key {key}")
            keys.add(key)
            docs.append((t["name"], key, title, compose(rng, t["name"], text, t["context"], usage)))
        for text, rels in t["queries"]:
            if not 1 <= len(rels) <= 3 or not any(g == 2 for g in rels.values()):
                sys.exit(f"{t['name']}: query {text!r} needs 1-3 judgments with one grade 2")
            for key in rels:
                if key not in keys:
                    sys.exit(f"{t['name']}: query {text!r} judges unknown doc {key}")
            queries.append((t["name"], text, rels))

    rng.shuffle(docs)
    doc_id = {}
    corpus = []
    for n, (tname, key, title, text) in enumerate(docs, 1):
        doc_id[(tname, key)] = f"d{n:04d}"
        corpus.append({"_id": f"d{n:04d}", "title": title, "text": text})

    rng.shuffle(queries)
    query_rows, judged, by_topic = [], [], {}
    for n, (tname, text, rels) in enumerate(queries, 1):
        qid = f"q{n:03d}"
        query_rows.append({"_id": qid, "text": text})
        judged.append((qid, sorted((doc_id[(tname, k)], g) for k, g in rels.items())))
        by_topic.setdefault(tname, []).append(qid)
    # Stratified split: every topic gets one dev query, the rest are drawn from the topics' second queries.
    dev = {qids[0] for qids in by_topic.values()}
    dev |= set(rng.sample([qids[1] for qids in by_topic.values()], DEV_QUERIES - len(dev)))
    splits = {
        "train": [(q, r) for q, r in judged if q not in dev],
        "dev": [(q, r) for q, r in judged if q in dev],
    }
    return corpus, query_rows, splits


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main():
    corpus, query_rows, splits = build()
    os.makedirs(os.path.join(OUT, "qrels"), exist_ok=True)
    write_jsonl(os.path.join(OUT, "corpus.jsonl"), corpus)
    write_jsonl(os.path.join(OUT, "queries.jsonl"), query_rows)
    for split, rows in splits.items():
        with open(os.path.join(OUT, "qrels", f"{split}.tsv"), "w", encoding="utf-8", newline="\n") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            for qid, rels in rows:
                for did, grade in rels:
                    f.write(f"{qid}\t{did}\t{grade}\n")
    n_judg = {s: sum(len(r) for _, r in rows) for s, rows in splits.items()}
    print(
        f"wrote {os.path.relpath(OUT, ROOT)}: {len(corpus)} documents, {len(query_rows)} queries, "
        f"{len(TOPICS)} topics; train {len(splits['train'])} queries / {n_judg['train']} judgments, "
        f"dev {len(splits['dev'])} queries / {n_judg['dev']} judgments"
    )


if __name__ == "__main__":
    main()
