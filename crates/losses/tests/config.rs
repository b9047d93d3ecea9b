//! The config interface: TOML/JSON parsing, defaults, rejected keys and values, declared
//! inputs, and the errors for missing or misshapen inputs.

mod common;

use common::{build, matrix, Cpu};
use rankforge_losses::{
    BceConfig, ColbertContrastiveConfig, ColbertDistillationConfig, DistillKlConfig,
    DistillObjective, InfoNceConfig, InputKind, LambdaLossConfig, LambdaWeighting, ListMleConfig,
    ListNetConfig, LossConfig, LossError, LossInput, MarginMseConfig, MarginRankingConfig,
    MseConfig, RankNetConfig, ScoreTarget, Similarity,
};

fn from_toml(text: &str) -> Result<LossConfig, toml::de::Error> {
    toml::from_str(text)
}

#[test]
fn every_loss_parses_from_toml_with_its_defaults() {
    let expected = [
        ("bce", LossConfig::Bce(BceConfig::default())),
        ("mse", LossConfig::Mse(MseConfig::default())),
        (
            "margin_ranking",
            LossConfig::MarginRanking(MarginRankingConfig::default()),
        ),
        ("ranknet", LossConfig::RankNet(RankNetConfig::default())),
        ("listnet", LossConfig::ListNet(ListNetConfig::default())),
        ("listmle", LossConfig::ListMle(ListMleConfig::default())),
        (
            "lambda_loss",
            LossConfig::LambdaLoss(LambdaLossConfig::default()),
        ),
        ("infonce", LossConfig::InfoNce(InfoNceConfig::default())),
        (
            "margin_mse",
            LossConfig::MarginMse(MarginMseConfig::default()),
        ),
        (
            "distill_kl",
            LossConfig::DistillKl(DistillKlConfig::default()),
        ),
        (
            "colbert_contrastive",
            LossConfig::ColbertContrastive(ColbertContrastiveConfig::default()),
        ),
        (
            "colbert_distillation",
            LossConfig::ColbertDistillation(ColbertDistillationConfig::default()),
        ),
    ];
    for (name, config) in expected {
        let parsed = from_toml(&format!("loss = \"{name}\"")).expect(name);
        assert_eq!(parsed, config);
        assert_eq!(parsed.name(), name);
        assert!(parsed.build().is_ok(), "{name}: defaults are valid");
        // Serialising writes the same tag back.
        let json = serde_json::to_value(&parsed).unwrap();
        assert_eq!(json["loss"], name);
    }
}

#[test]
fn documented_defaults_hold() {
    assert_eq!(BceConfig::default().pos_weight, None);
    assert_eq!(MseConfig::default().target, ScoreTarget::TeacherScores);
    assert_eq!(MarginRankingConfig::default().margin, 1.0);
    assert_eq!(RankNetConfig::default().sigma, 1.0);
    let listnet = ListNetConfig::default();
    assert_eq!(
        (listnet.target, listnet.temperature),
        (ScoreTarget::Labels, 1.0)
    );
    let lambda = LambdaLossConfig::default();
    assert_eq!(lambda.weighting, LambdaWeighting::NdcgLoss2pp);
    assert_eq!((lambda.k, lambda.sigma, lambda.mu), (None, 1.0, 10.0));
    let infonce = InfoNceConfig::default();
    assert_eq!(infonce.similarity, Similarity::Cosine);
    assert_eq!(infonce.effective_scale(), 20.0);
    assert!(!infonce.symmetric);
    let kl = DistillKlConfig::default();
    assert_eq!(kl.objective, DistillObjective::KlDivergence);
    assert_eq!((kl.temperature, kl.hard_label_weight), (1.0, 0.0));
}

#[test]
fn parameters_parse_alongside_the_tag() {
    let config = from_toml(
        r#"
        loss = "lambda_loss"
        weighting = "lambda_rank"
        k = 10
        sigma = 2.0
        "#,
    )
    .unwrap();
    assert_eq!(
        config,
        LossConfig::LambdaLoss(LambdaLossConfig {
            weighting: LambdaWeighting::LambdaRank,
            k: Some(10),
            sigma: 2.0,
            mu: 10.0,
        })
    );
    let config = from_toml("loss = \"infonce\"\ntemperature = 0.02\nsymmetric = true").unwrap();
    let LossConfig::InfoNce(infonce) = config else {
        panic!("infonce")
    };
    assert!((infonce.effective_scale() - 50.0).abs() < 1e-4);
    // Nested as a table of a run config.
    #[derive(serde::Deserialize)]
    struct Run {
        loss: LossConfig,
    }
    let run: Run = toml::from_str("[loss]\nloss = \"listnet\"\ntemperature = 2.0").unwrap();
    assert_eq!(run.loss.name(), "listnet");
}

#[test]
fn aliases_are_accepted() {
    for (alias, name) in [
        ("hinge", "margin_ranking"),
        ("rank_net", "ranknet"),
        ("list_net", "listnet"),
        ("list_mle", "listmle"),
        ("lambdaloss", "lambda_loss"),
        ("multiple_negatives_ranking", "infonce"),
        ("kl_div", "distill_kl"),
        ("binary_cross_entropy", "bce"),
    ] {
        assert_eq!(
            from_toml(&format!("loss = \"{alias}\"")).unwrap().name(),
            name
        );
    }
}

#[test]
fn unknown_keys_and_losses_are_rejected() {
    let error = from_toml("loss = \"listnet\"\ntemprature = 2.0").unwrap_err();
    assert!(error.to_string().contains("temprature"), "{error}");
    let error = from_toml("loss = \"listmle\"\nsigma = 1.0").unwrap_err();
    assert!(error.to_string().contains("sigma"), "{error}");
    assert!(from_toml("loss = \"softmax\"").is_err());
    assert!(from_toml("margin = 1.0").is_err(), "the tag is required");
    assert!(from_toml("loss = \"lambda_loss\"\nweighting = \"ndcg3\"").is_err());
}

#[test]
fn invalid_parameters_fail_to_build() {
    for (text, parameter) in [
        ("loss = \"bce\"\npos_weight = -1.0", "pos_weight"),
        ("loss = \"ranknet\"\nsigma = 0.0", "sigma"),
        ("loss = \"listnet\"\ntemperature = -2.0", "temperature"),
        ("loss = \"lambda_loss\"\nk = 0", "k"),
        ("loss = \"lambda_loss\"\nmu = -1.0", "mu"),
        (
            "loss = \"infonce\"\nscale = 20.0\ntemperature = 0.05",
            "temperature",
        ),
        ("loss = \"infonce\"\nscale = 0.0", "scale"),
        (
            "loss = \"distill_kl\"\nhard_label_weight = -0.5",
            "hard_label_weight",
        ),
        ("loss = \"margin_ranking\"\nmargin = inf", "margin"),
    ] {
        match from_toml(text).unwrap().build() {
            Err(LossError::InvalidConfig { parameter: p, .. }) => {
                assert_eq!(p, parameter, "{text}")
            }
            other => panic!("{text}: expected InvalidConfig, got {other:?}"),
        }
    }
}

#[test]
fn declared_inputs_match_each_loss() {
    use InputKind::*;
    let spec = |text: &str| build(text).inputs();
    assert_eq!(spec(r#"{"loss": "bce"}"#).required, [Scores, Labels]);
    assert_eq!(spec(r#"{"loss": "mse"}"#).required, [Scores, TeacherScores]);
    assert_eq!(spec(r#"{"loss": "listnet"}"#).required, [Scores, Labels]);
    assert_eq!(
        spec(r#"{"loss": "listnet", "target": "teacher_scores"}"#).required,
        [Scores, TeacherScores]
    );
    assert_eq!(
        spec(r#"{"loss": "lambda_loss"}"#).required,
        [Scores, Labels]
    );
    let infonce = spec(r#"{"loss": "infonce"}"#);
    assert_eq!(infonce.required, [QueryEmbeddings, PositiveEmbeddings]);
    assert!(infonce.uses(NegativeEmbeddings) && !infonce.uses(Scores));
    assert!(spec(r#"{"loss": "margin_mse"}"#).positive_first);
    assert!(!spec(r#"{"loss": "distill_kl"}"#).positive_first);
    assert!(spec(r#"{"loss": "distill_kl", "hard_label_weight": 1.0}"#).positive_first);
    assert!(spec(r#"{"loss": "ranknet"}"#).uses(ValidMask));
}

#[test]
fn missing_inputs_are_reported_by_name() {
    let scores = || matrix::<Cpu>(&[vec![1.0, 0.0, -1.0]]);
    let cases = [
        (
            r#"{"loss": "listnet"}"#,
            LossInput::from_scores(scores()),
            InputKind::Labels,
        ),
        (
            r#"{"loss": "margin_mse"}"#,
            LossInput::from_scores(scores()),
            InputKind::TeacherScores,
        ),
        (
            r#"{"loss": "listnet", "target": "teacher_scores"}"#,
            LossInput::from_scores(scores()).with_labels(scores()),
            InputKind::TeacherScores,
        ),
        (
            r#"{"loss": "ranknet"}"#,
            LossInput::default().with_labels(scores()),
            InputKind::Scores,
        ),
        (
            r#"{"loss": "infonce"}"#,
            LossInput::from_scores(scores()),
            InputKind::QueryEmbeddings,
        ),
    ];
    for (config, input, missing) in cases {
        let loss = build(config);
        match loss.compute(&input) {
            Err(LossError::MissingInput { loss: name, input }) => {
                assert_eq!(input, missing, "{config}");
                assert_eq!(name, loss.name());
            }
            other => panic!("{config}: expected MissingInput({missing}), got {other:?}"),
        }
    }
    let message = build(r#"{"loss": "listnet"}"#)
        .compute(&LossInput::from_scores(scores()))
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "loss `listnet` needs labels but the input has none"
    );
}

#[test]
fn misshapen_inputs_are_reported() {
    let loss = build(r#"{"loss": "lambda_loss"}"#);
    let input = LossInput::from_scores(matrix::<Cpu>(&[vec![1.0, 0.0, -1.0]]))
        .with_labels(matrix(&[vec![1.0, 0.0]]));
    assert!(matches!(
        loss.compute(&input),
        Err(LossError::ShapeMismatch {
            input: InputKind::Labels,
            ..
        })
    ));
    let one_column = LossInput::from_scores(matrix::<Cpu>(&[vec![1.0], vec![2.0]]))
        .with_teacher_scores(matrix(&[vec![1.0], vec![2.0]]));
    assert!(matches!(
        build(r#"{"loss": "margin_mse"}"#).compute(&one_column),
        Err(LossError::ShapeMismatch {
            input: InputKind::Scores,
            ..
        })
    ));
    let embeddings = LossInput::from_embeddings(
        matrix::<Cpu>(&[vec![1.0, 0.0], vec![0.0, 1.0]]),
        matrix(&[vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]]),
    );
    assert!(matches!(
        build(r#"{"loss": "infonce"}"#).compute(&embeddings),
        Err(LossError::ShapeMismatch {
            input: InputKind::PositiveEmbeddings,
            ..
        })
    ));
}

#[test]
fn every_registered_loss_round_trips_through_the_config_and_builds() {
    let registered = LossConfig::registered();
    assert_eq!(registered.len(), 12);
    let mut names = std::collections::BTreeSet::new();
    for config in registered {
        let name = config.name();
        assert!(names.insert(name), "{name} is registered once");
        // From its name alone, in a `[loss]` table, to the registered defaults.
        #[derive(serde::Deserialize)]
        struct Run {
            loss: LossConfig,
        }
        let run: Run = toml::from_str(&format!("[loss]\nloss = \"{name}\"")).expect(name);
        assert_eq!(run.loss, config, "{name}");
        // Through serialisation and back.
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["loss"], name);
        let back: LossConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, config);
        let text = toml::to_string(&config).unwrap();
        assert_eq!(from_toml(&text).unwrap(), config, "{name}: {text}");
        // And builds into the loss of that name.
        let loss = config.build().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(loss.name(), name);
        assert_eq!(loss.inputs(), config.inputs());
        assert_eq!(loss.config(), &config);
    }
}

#[test]
fn a_config_computes_through_the_ranking_loss_trait() {
    use rankforge_losses::RankingLoss;
    let input = || {
        LossInput::from_scores(matrix::<Cpu>(&[vec![2.0, 0.5, -1.0]]))
            .with_labels(matrix(&[vec![2.0, 1.0, 0.0]]))
    };
    let direct = RankNetConfig { sigma: 1.5 }.compute(&input()).unwrap();
    let built = build(r#"{"loss": "ranknet", "sigma": 1.5}"#)
        .compute(&input())
        .unwrap();
    assert_eq!(direct.into_data(), built.into_data());
    assert_eq!(<RankNetConfig as RankingLoss>::NAME, "ranknet");
    // The trait validates before computing, also without `LossConfig::build`.
    assert!(matches!(
        RankNetConfig { sigma: 0.0 }.compute(&input()),
        Err(LossError::InvalidConfig {
            parameter: "sigma",
            ..
        })
    ));
    // RankNet is unweighted LambdaLoss in nats.
    let ranknet = common::loss_value(&build(r#"{"loss": "ranknet"}"#), &input());
    let lambda = common::loss_value(
        &build(r#"{"loss": "lambda_loss", "weighting": "none"}"#),
        &input(),
    );
    common::assert_close(
        "ranknet vs lambda",
        ranknet,
        lambda * std::f32::consts::LN_2,
        1e-6,
    );
}
