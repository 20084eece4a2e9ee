//! Explanations and lexicon overrides through the public API.

use earful_sentiment::{Analyzer, Explanation, Label, LexiconError, Rule};

#[test]
fn explanation_shows_the_rules() {
    let text = "The service is GREAT but the food is not good!!";
    let analyzer = Analyzer::standard();
    let why = analyzer.score_explained(text);
    assert_eq!(why.scores, analyzer.polarity_scores(text));
    assert_eq!(why.but_index, Some(4));
    assert_eq!(why.exclamation_marks, 2);
    assert!(why.caps_differential);
    let great = &why.tokens[3];
    assert_eq!(great.token, "GREAT");
    assert_eq!(great.lexicon_valence, Some(3.1));
    let rules: Vec<Rule> = great.steps.iter().map(|step| step.rule).collect();
    assert_eq!(rules, [Rule::AllCaps, Rule::ButBefore]);
    let good = &why.tokens[9];
    assert_eq!(good.token, "good");
    let negation = &good.steps[0];
    assert_eq!(
        (negation.rule, negation.by.as_deref()),
        (Rule::Negation, Some("not"))
    );
    assert_eq!(
        good.steps.last().map(|step| step.rule),
        Some(Rule::ButAfter)
    );
    let sum: f64 = why.tokens.iter().map(|token| token.valence).sum();
    assert!((sum - why.sum).abs() < 1e-12);

    let rendered = why.render_text();
    assert!(
        rendered.starts_with(&format!("{} (compound", why.label)),
        "{rendered}"
    );
    assert!(rendered.contains("negation \"not\""), "{rendered}");
    assert!(rendered.contains("but_before"), "{rendered}");

    let json = serde_json::to_string(&why).unwrap();
    assert!(json.contains("\"rule\":\"all_caps\""), "{json}");
    let back: Explanation = serde_json::from_str(&json).unwrap();
    assert_eq!(back, why);
}

#[test]
fn special_cases_and_empty_text() {
    let analyzer = Analyzer::standard();
    let why = analyzer.score_explained("that concert last night was the bomb");
    let bomb = why.tokens.last().unwrap();
    assert_eq!(bomb.steps[0].rule, Rule::SpecialCase);
    assert_eq!(bomb.steps[0].by.as_deref(), Some("the bomb"));
    assert_eq!(bomb.valence, 3.0);

    let empty = analyzer.score_explained("");
    assert!(empty.tokens.is_empty());
    assert_eq!(empty.label, Label::Neutral);
    assert!(!empty.render_text().is_empty());
}

#[test]
fn overrides_apply_only_to_their_analyzer() {
    let custom = Analyzer::with_overrides([
        ("outage".to_string(), -2.5),
        ("Bricked".to_string(), -3.0),
        ("good".to_string(), 0.0),
    ])
    .unwrap();
    let standard = Analyzer::standard();
    assert_eq!(standard.polarity_scores("another outage").compound, 0.0);
    assert!(custom.polarity_scores("another outage").compound < -0.5);
    assert!(custom.polarity_scores("my phone is BRICKED").compound < -0.5);
    assert_eq!(custom.polarity_scores("good").compound, 0.0);
    assert_eq!(standard.polarity_scores("good").compound, 0.4404);
    let why = custom.score_explained("not an outage");
    assert_eq!(why.tokens[2].lexicon_valence, Some(-2.5));

    let error = Analyzer::with_overrides([("hand to mouth".to_string(), -2.0)]).unwrap_err();
    assert!(matches!(error, LexiconError::InvalidWord { .. }));
    assert!(error.to_string().contains("`hand to mouth`"), "{error}");
    let error = Analyzer::with_overrides([("refund".to_string(), 9.0)]).unwrap_err();
    assert_eq!(
        error,
        LexiconError::InvalidValence {
            word: "refund".to_string(),
            valence: 9.0
        }
    );
}
