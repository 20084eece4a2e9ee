use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "earful.toml", |name| match name {
        "EARFUL_SECRET" => Some("s3cr\"et".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    })
}

fn problems(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(error) => error.to_string(),
    }
}

const MINIMAL: &str = r#"version = 1
[[watch]]
name = "acme"
query = '"acme corp" OR acme -"acme acres"'

[[source]]
name = "hn-acme"
kind = "hackernews"
watches = ["acme"]
"#;

#[test]
fn a_minimal_config_loads_with_defaults() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("./data"));
    assert_eq!(config.server.listen, "127.0.0.1:7878");
    assert_eq!(
        config.sources[0].interval,
        Interval(Duration::from_secs(300))
    );
    assert_eq!(config.alerting.sensitivity, Sensitivity::Balanced);
    assert_eq!(config.index.commit_docs, 50_000);
}

#[test]
fn the_shipped_configs_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let mut files = vec![root.join("earful.toml")];
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            files.push(path);
        }
    }
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let loaded = Config::parse(&text, &file.display().to_string(), |_| None);
        assert!(
            loaded.is_ok(),
            "{}: {}",
            file.display(),
            loaded.unwrap_err()
        );
    }
}

#[test]
fn unknown_keys_are_errors_with_their_line() {
    let text = MINIMAL.replace(
        "watches = [\"acme\"]",
        "watches = [\"acme\"]\nintervl = \"5m\"",
    );
    assert_eq!(
        problems(&text),
        "earful.toml:10: source[0].intervl: unknown field `intervl`, expected one of `name`, `kind`, \
         `interval`, `watches`, `base_url`, `enabled`, `url`, `hashtags`, `token`, `app_id`, \
         `country`, `site`, `key`, `identifier`, `app_password`, `client_id`, `client_secret`, \
         `user_agent`"
    );
    let top = problems(&format!("colour = \"blue\"\n{MINIMAL}"));
    assert!(
        top.starts_with("earful.toml:1: colour: unknown field `colour`"),
        "{top}"
    );
}

#[test]
fn bad_values_name_the_key_and_line() {
    let text = MINIMAL.replace(
        "watches = [\"acme\"]",
        "watches = [\"acme\"]\ninterval = \"5 minutes\"",
    );
    assert_eq!(
        problems(&text),
        "earful.toml:10: source[0].interval: `5 minutes` is not a duration (like 30s, 5m, 2h, 7d or 1w)"
    );
    let kind = problems(&MINIMAL.replace("hackernews", "hackernewz"));
    assert!(
        kind.starts_with("earful.toml:8: source[0].kind: unknown variant `hackernewz`"),
        "{kind}"
    );
}

#[test]
fn syntax_errors_have_a_line() {
    let broken = problems("version = 1\n[server\nlisten = 1\n");
    assert!(broken.starts_with("earful.toml:2: "), "{broken}");
}

#[test]
fn cross_checks_are_located() {
    let text = r#"version = 2
[[watch]]
name = "acme"
query = 'acme AND ('

[[source]]
name = "blog"
kind = "feed"
watches = ["acne"]

[[source]]
name = "blog"
kind = "appstore"
app_id = "123"
site = "stackoverflow"
"#;
    let report = problems(text);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
        lines,
        [
            "earful.toml:1: version: version 2 is not supported; this build reads version 1",
            "earful.toml:4: watch[0].query: at character 11: expected word",
            "earful.toml:8: source[0].kind: kind `feed` needs key `url`",
            "earful.toml:9: source[0].watches: no watch is named `acne`",
            "earful.toml:12: source[1].name: source `blog` is defined twice",
            "earful.toml:15: source[1].site: key `site` does not apply to kind `appstore`",
        ],
        "{report}"
    );
}

#[test]
fn environment_variables_expand_in_place() {
    let text = format!(
        "{MINIMAL}[[notify]]\nkind = \"webhook\"\nurl = \"${{HOOK_URL:-https://hooks.example/x}}\"\nsecret = \"${{EARFUL_SECRET}}\"\n"
    );
    let config = parse(&text).unwrap();
    assert_eq!(
        config.notifiers[0].url.as_deref(),
        Some("https://hooks.example/x")
    );
    assert_eq!(config.notifiers[0].secret.as_deref(), Some("s3cr\"et"));
    let debug = format!("{:?}", config.notifiers[0]);
    assert!(!debug.contains("s3cr"), "secrets never reach logs: {debug}");
}

#[test]
fn unset_variables_are_errors() {
    let text = format!("{MINIMAL}[[notify]]\nkind = \"webhook\"\nurl = \"${{NOPE}}\"\n");
    assert_eq!(
        problems(&text),
        "earful.toml:12: url: environment variable `NOPE` is not set and has no default (`${NOPE:-default}`)"
    );
    // Comments are not expanded.
    assert!(parse(&format!("{MINIMAL}# ${{NOPE}}\n")).is_ok());
    // An empty variable takes the default.
    let text = format!("{MINIMAL}[server]\nlisten = \"${{EMPTY:-127.0.0.1:9999}}\"\n");
    assert_eq!(parse(&text).unwrap().server.listen, "127.0.0.1:9999");
}

#[test]
fn lexicon_overrides_are_checked() {
    let report = problems(&format!(
        "{MINIMAL}[sentiment.lexicon]\noutage = -2.5\nbricked = -9\n"
    ));
    assert_eq!(
        report,
        "earful.toml:12: sentiment.lexicon.bricked: valence -9 is outside -4..4"
    );
}

#[test]
fn a_public_listen_address_without_tokens_needs_explicit_anonymous_reads() {
    let public = format!("{MINIMAL}[server]\nlisten = \"0.0.0.0:7878\"\n");
    let refused = problems(&public);
    assert!(
        refused.starts_with("earful.toml:11: server.listen: `0.0.0.0:7878` is reachable"),
        "{refused}"
    );
    assert!(refused.contains("allow_anonymous_read"), "{refused}");

    let allowed = format!("{public}allow_anonymous_read = true\n");
    assert!(parse(&allowed).unwrap().server.allow_anonymous_read);

    let with_token = format!(
        "{public}tokens = [{{ name = \"ops\", token = \"0123456789abcdef\", role = \"admin\" }}]\n"
    );
    assert!(parse(&with_token).is_ok());

    let loopback = format!("{MINIMAL}[server]\nlisten = \"[::1]:7878\"\n");
    assert!(!parse(&loopback).unwrap().server.allow_anonymous_read);
}

#[test]
fn collect_settings_have_defaults_and_are_checked() {
    let config = parse("version = 1\n").unwrap();
    assert_eq!(config.collect.lookback.0, Duration::from_secs(86_400));
    assert_eq!(config.collect.max_body_mb, 10);
    let found = problems(
        "version = 1\n[collect]\ncontact_url = \"acme.example\"\nmax_concurrent = 0\ntimeout = \"0s\"\n",
    );
    assert!(found.contains(":3: collect.contact_url:"), "{found}");
    assert!(found.contains(":4: collect.max_concurrent:"), "{found}");
    assert!(found.contains(":5: collect.timeout:"), "{found}");
}

#[test]
fn notify_channels_are_named_once_and_plain_smtp_stays_on_loopback() {
    let config = parse(&format!(
        "{MINIMAL}[[notify]]\nkind = \"email\"\nsmtp = \"127.0.0.1:2525\"\ntls = \"none\"\nfrom = \"a@example.org\"\nto = [\"b@example.org\"]\n"
    ))
    .unwrap();
    let email = &config.notifiers[0];
    assert_eq!(email.channel_name(), "email");
    assert!(email.send_resolved);
    assert_eq!(email.max_attempts, 12);

    let found = problems(&format!(
        "{MINIMAL}[[notify]]\nkind = \"webhook\"\nurl = \"https://a.example/x?token=T0PSECRET\"\n\
         [[notify]]\nkind = \"webhook\"\nurl = \"ftp://b.example/T0PSECRET\"\nmax_attempts = 0\n\
         [[notify]]\nkind = \"email\"\nsmtp = \"smtp.example.com:25\"\ntls = \"none\"\nfrom = \"a@example.org\"\nto = [\"b@example.org\"]\n"
    ));
    assert!(
        found.contains("notify[1].name: two channels are named `webhook`"),
        "{found}"
    );
    assert!(
        found.contains(":15: notify[1].url: is not an http(s) URL"),
        "{found}"
    );
    assert!(found.contains(":16: notify[1].max_attempts:"), "{found}");
    assert!(
        found.contains(":20: notify[2].tls: `none` sends mail unencrypted"),
        "{found}"
    );
    assert!(
        !found.contains("T0PSECRET"),
        "a URL may hold a secret: {found}"
    );
}

#[test]
fn watches_choose_their_alert_kinds_and_buckets_tile_an_hour() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.watches[0].alerts, vec![AlertKind::NegativeSpike]);
    let config = parse(&MINIMAL.replace(
        "query = '",
        "alerts = [\"praise_surge\", \"volume_spike\"]\nquery = '",
    ))
    .unwrap();
    assert_eq!(
        config.watches[0].alerts,
        vec![AlertKind::PraiseSurge, AlertKind::VolumeSpike]
    );

    let unknown =
        problems(&MINIMAL.replace("query = '", "alerts = [\"negative_spkie\"]\nquery = '"));
    assert!(
        unknown.starts_with("earful.toml:4: watch[0].alerts"),
        "{unknown}"
    );
    assert!(
        unknown.contains("unknown variant `negative_spkie`"),
        "{unknown}"
    );
    let twice = problems(&format!(
        "{}\n[alerting]\nbucket = \"7m\"\n",
        MINIMAL.replace(
            "query = '",
            "alerts = [\"volume_spike\", \"volume_spike\"]\nquery = '"
        )
    ));
    assert!(
        twice.contains("earful.toml:4: watch[0].alerts: alert kind `volume_spike` is listed twice"),
        "{twice}"
    );
    assert!(
        twice.contains(":13: alerting.bucket: the bucket must be between 1m and 1h"),
        "{twice}"
    );
}

#[test]
fn cluster_settings_have_defaults_and_are_checked() {
    let config = parse(MINIMAL).unwrap();
    let cluster = &config.cluster;
    assert_eq!(cluster.nats, "nats://127.0.0.1:4222");
    assert_eq!(cluster.stream, "EARFUL_MENTIONS");
    assert_eq!(cluster.duplicate_window.0, Duration::from_secs(7_200));
    assert_eq!(cluster.assign_mode(), AssignMode::All);
    assert!(cluster.assigns("hn-acme"));

    let found = problems(&format!(
        "{MINIMAL}[cluster]\nnats = \"http://127.0.0.1:4222\"\nsubject = \"earful.>\"\n\
         assign = \"hash\"\nnodes = 3\nnode_index = 3\nduplicate_window = \"30s\"\nfetch_batch = 0\n"
    ));
    assert!(
        found.contains(":11: cluster.nats: `http://127.0.0.1:4222` is not a NATS URL"),
        "{found}"
    );
    assert!(
        found.contains(":12: cluster.subject: `earful.>` is not a subject prefix"),
        "{found}"
    );
    assert!(
        found.contains(":15: cluster.node_index: must be below `nodes` (3)"),
        "{found}"
    );
    assert!(
        found.contains(":16: cluster.duplicate_window: must be at least 1m"),
        "{found}"
    );
    assert!(
        found.contains(":17: cluster.fetch_batch: must be at least 1"),
        "{found}"
    );

    let found = problems(&format!(
        "{MINIMAL}[cluster]\nsources = [\"hn-acme\", \"hn-acmee\"]\nnodes = 2\n"
    ));
    assert!(
        found.contains(":11: cluster.sources[1]: no source is named `hn-acmee`"),
        "{found}"
    );
    assert!(
        found.contains(":12: cluster.nodes: applies only with `assign = \"hash\"`"),
        "{found}"
    );
    let found = problems(&format!("{MINIMAL}[cluster]\nassign = \"hash\"\n"));
    assert!(
        found.contains(":11: cluster.assign: `hash` needs `nodes`"),
        "{found}"
    );
}

#[test]
fn a_listed_cluster_node_polls_only_its_sources() {
    let config = parse(&format!(
        "{MINIMAL}[[source]]\nname = \"blog\"\nkind = \"feed\"\nurl = \"https://a.example/feed\"\n\
         [cluster]\nsources = [\"blog\"]\n"
    ))
    .unwrap();
    assert_eq!(config.cluster.assign_mode(), AssignMode::List);
    assert!(config.cluster.assigns("blog"));
    assert!(!config.cluster.assigns("hn-acme"));
}

#[test]
fn hashing_puts_every_source_on_exactly_one_node_the_same_on_every_run() {
    // FNV-1a's published test vectors: the hash may never change, or a fleet upgraded node by
    // node would poll some sources twice and others not at all.
    assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(stable_hash("foobar"), 0x8594_4171_f739_67e8);
    let names: Vec<String> = (0..500).map(|n| format!("source-{n}")).collect();
    for nodes in 1..=7u32 {
        let node_configs: Vec<ClusterConfig> = (0..nodes)
            .map(|index| ClusterConfig {
                assign: Some(AssignMode::Hash),
                nodes: Some(nodes),
                node_index: Some(index),
                ..ClusterConfig::default()
            })
            .collect();
        let mut per_node = vec![0usize; nodes as usize];
        for name in &names {
            let owners: Vec<usize> = node_configs
                .iter()
                .enumerate()
                .filter(|(_, config)| config.assigns(name))
                .map(|(index, _)| index)
                .collect();
            assert_eq!(owners.len(), 1, "{name} over {nodes} nodes: {owners:?}");
            per_node[owners[0]] += 1;
        }
        // Spread evenly enough that no node idles: each holds at least half its share.
        let share = names.len() / nodes as usize;
        assert!(
            per_node.iter().all(|&count| count >= share / 2),
            "{nodes} nodes: {per_node:?}"
        );
    }
}
