//! The deployment files in `deploy/` against the real binary and the real tools: the systemd
//! unit through `systemd-analyze`, the sysusers file through `systemd-sysusers`, every example
//! config through `earful config check`, the Dockerfile and compose files against the
//! workspace they build, and the container's health probe against a real `/readyz`.
//!
//! No Docker engine runs in the tests, so the images are checked statically; a tool that is
//! missing is reported on stderr and the rest is still checked.

// Test code: a failure to read a file or start a process is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use serde_json::Value;

/// The workspace root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn deploy(relative: &str) -> PathBuf {
    repo().join("deploy").join(relative)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether `program` can be run (it answers `--version`).
fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The secrets the deploy configs expand, from the systemd example environment file (every
/// path uses the same variable names).
fn example_environment() -> Vec<(String, String)> {
    read(&deploy("systemd/earful.env.example"))
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, value) = line.split_once('=').expect("NAME=value");
            (name.to_string(), value.to_string())
        })
        .collect()
}

/// `earful ARGS` with exactly `environment` for its `EARFUL_*` variables.
fn earful(args: &[&str], environment: &[(String, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_earful"));
    command.args(args).current_dir(repo());
    for (name, _) in std::env::vars() {
        if name.starts_with("EARFUL_") {
            command.env_remove(name);
        }
    }
    command.envs(environment.iter().map(|(name, value)| (name, value)));
    command.output().unwrap()
}

/// Every file under `dir` whose name ends with `suffix`, sorted.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The value of `key = "value"` on a line of a TOML file (the deploy configs write their
/// `listen` this way; the binary has no TOML dependency to lend the tests).
fn toml_string(source: &str, key: &str) -> Option<String> {
    source.lines().find_map(|line| {
        let (name, rest) = line.split_once('=')?;
        if name.trim() != key {
            return None;
        }
        let rest = rest.trim().strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_string())
    })
}

// ## systemd

/// A unit file's settings, `key → values` in order (a key may repeat, as `ExecReload=` does).
fn unit_settings(source: &str) -> BTreeMap<String, Vec<String>> {
    let mut settings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in source.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        let (key, value) = line.split_once('=').expect("Key=value");
        settings
            .entry(key.to_string())
            .or_default()
            .push(value.to_string());
    }
    settings
}

fn seconds(value: &str) -> u64 {
    value
        .strip_suffix('s')
        .unwrap_or(value)
        .parse()
        .unwrap_or_else(|_| panic!("`{value}` is not whole seconds"))
}

#[test]
fn systemd_unit_has_readiness_reload_stop_and_hardening_settings() {
    let settings = unit_settings(&read(&deploy("systemd/earful.service")));
    let one = |key: &str| -> &str {
        match settings.get(key).map(Vec::as_slice) {
            Some([value]) => value,
            other => panic!("`{key}=` should be set once, found {other:?}"),
        }
    };
    assert_eq!(one("Type"), "notify");
    assert_eq!(one("NotifyAccess"), "main");
    assert!(seconds(one("WatchdogSec")) >= 10);
    assert_eq!(
        one("ExecStartPre"),
        "/usr/bin/earful --config /etc/earful/earful.toml config check"
    );
    assert_eq!(
        one("ExecStart"),
        "/usr/bin/earful --config /etc/earful/earful.toml run"
    );
    // Validation first: systemd runs the ExecReload= lines in order and stops at a failure.
    assert_eq!(
        settings["ExecReload"],
        [
            "/usr/bin/earful --config /etc/earful/earful.toml config check",
            "/bin/kill -HUP $MAINPID",
        ]
    );
    assert_eq!(one("Restart"), "on-failure");
    assert!(
        seconds(one("TimeoutStopSec")) > 10,
        "the daemon may take 10 s to stop"
    );
    assert_eq!(one("User"), "earful");
    // The data directory is the only writable path, and the config's data_dir is it.
    assert_eq!(one("StateDirectory"), "earful");
    assert_eq!(one("ReadWritePaths"), "/var/lib/earful");
    assert_eq!(
        toml_string(&read(&deploy("systemd/earful.toml")), "data_dir").as_deref(),
        Some("/var/lib/earful")
    );
    for (key, value) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
    ] {
        assert_eq!(one(key), value, "{key}=");
    }
    assert_eq!(settings["SystemCallFilter"][0], "@system-service");
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify_and_security() {
    if !available("systemd-analyze") {
        eprintln!("systemd-analyze is not installed: the unit was checked statically only");
        return;
    }
    // `verify` needs every Exec*= binary to exist: point them at the one just built.
    let scratch = tempfile::tempdir().unwrap();
    let unit = scratch.path().join("earful.service");
    let source = read(&deploy("systemd/earful.service"));
    assert!(source.contains("/usr/bin/earful "));
    std::fs::write(
        &unit,
        source.replace(
            "/usr/bin/earful ",
            &format!("{} ", env!("CARGO_BIN_EXE_earful")),
        ),
    )
    .unwrap();

    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    // Unknown or misspelt keys only warn, so any stderr at all is a failure.
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );

    // The hardening, scored: exposure 2.0 or lower ("OK" in systemd's own terms).
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20"])
        .arg(&unit)
        .output()
        .unwrap();
    let report = text(&security.stdout);
    assert!(
        security.status.success(),
        "exposure above 2.0:\n{report}{}",
        text(&security.stderr)
    );
    assert!(
        report.contains("Overall exposure level for earful.service"),
        "{report}"
    );
}

#[test]
fn sysusers_file_creates_the_units_user_with_the_data_directory_as_home() {
    if !available("systemd-sysusers") {
        eprintln!("systemd-sysusers is not installed: the sysusers file was not applied");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let created = Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.path().display()))
        .arg(deploy("systemd/earful.sysusers"))
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", text(&created.stderr));
    let passwd = read(&root.path().join("etc/passwd"));
    let user: Vec<&str> = passwd
        .lines()
        .find(|line| line.starts_with("earful:"))
        .unwrap_or_else(|| panic!("no earful user in:\n{passwd}"))
        .split(':')
        .collect();
    assert_eq!(user[5], "/var/lib/earful", "home");
    assert_eq!(user[6], "/usr/sbin/nologin", "shell");
    assert!(read(&root.path().join("etc/group")).contains("earful:"));
}

// ## Example configs

#[test]
fn every_example_config_in_deploy_passes_config_check() {
    let configs = files_ending(&repo().join("deploy"), ".toml");
    assert!(
        configs.len() >= 3,
        "expected the systemd, Docker and compose configs, found {configs:?}"
    );
    let environment = example_environment();
    for config in &configs {
        let path = config.to_str().unwrap();
        let check = earful(&["--config", path, "config", "check"], &environment);
        assert!(
            check.status.success(),
            "{path}: {}{}",
            text(&check.stdout),
            text(&check.stderr)
        );
        let summary = text(&check.stdout);
        assert!(
            summary.contains("data in /var/lib/earful"),
            "{path}: every deployed daemon keeps its data in /var/lib/earful: {summary}"
        );

        // A server other machines can reach must not start without its tokens.
        let source = read(config);
        let listen = toml_string(&source, "listen").unwrap_or_default();
        if !listen.is_empty() && !listen.starts_with("127.") && !listen.starts_with("[::1]") {
            let open = earful(&["--config", path, "config", "check"], &[]);
            assert_eq!(open.status.code(), Some(2), "{path} without secrets");
            assert!(
                text(&open.stderr).contains("EARFUL_ADMIN_TOKEN"),
                "{path}: {}",
                text(&open.stderr)
            );
        }
    }
}

// ## Docker

/// A Dockerfile's instructions as (INSTRUCTION, arguments), continuation lines joined.
fn dockerfile_instructions(source: &str) -> Vec<(String, String)> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in source.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (instruction, arguments) = current.split_once(' ').unwrap_or((&current, ""));
        instructions.push((instruction.to_uppercase(), arguments.trim().to_string()));
        current.clear();
    }
    instructions
}

/// A JSON-array (exec form) argument list.
fn exec_form(arguments: &str) -> Vec<String> {
    serde_json::from_str(arguments).unwrap_or_else(|_| panic!("not exec form: {arguments}"))
}

#[test]
fn dockerfile_builds_the_workspace_binary_and_runs_it_as_a_non_root_user() {
    let root = repo();
    let instructions = dockerfile_instructions(&read(&deploy("docker/Dockerfile")));
    let stages: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, (instruction, _))| instruction == "FROM")
        .map(|(position, _)| position)
        .collect();
    assert_eq!(stages.len(), 2, "a builder stage and a runtime stage");
    let (builder, runtime) = (
        &instructions[stages[0]..stages[1]],
        &instructions[stages[1]..],
    );

    // The builder's Rust is the toolchain rust-toolchain.toml pins.
    let toolchain = read(&root.join("rust-toolchain.toml"));
    let channel = toml_string(&toolchain, "channel").unwrap();
    let minor: Vec<&str> = channel.split('.').take(2).collect();
    let from = &builder[0].1;
    assert!(
        from.starts_with(&format!("rust:{}-", minor.join("."))) && from.ends_with(" AS builder"),
        "builder `{from}` against toolchain {channel}"
    );

    // It builds the package that owns the `earful` binary, with the lock file.
    let manifest = read(&root.join("crates/earful/Cargo.toml"));
    assert_eq!(toml_string(&manifest, "name").as_deref(), Some("earful"));
    assert!(root.join("crates/earful/src/main.rs").exists());
    let build = builder
        .iter()
        .find(|(instruction, arguments)| instruction == "RUN" && arguments.contains("cargo"))
        .expect("a RUN with cargo build");
    assert!(
        build
            .1
            .contains("cargo build --release --locked -p earful ")
            && build.1.contains("target/release/earful /out/earful"),
        "{}",
        build.1
    );

    // Every COPY from the build context exists and is not left out by .dockerignore.
    let ignored: Vec<String> = read(&root.join(".dockerignore"))
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect();
    let mut copied = Vec::new();
    for (instruction, arguments) in &instructions {
        if instruction != "COPY" || arguments.starts_with("--from=") {
            continue;
        }
        let words: Vec<&str> = arguments.split_whitespace().collect();
        let (destination, sources) = words.split_last().unwrap();
        for source in sources {
            assert!(
                root.join(source).exists(),
                "COPY source `{source}` is missing"
            );
            assert!(
                !ignored
                    .iter()
                    .any(|pattern| source == pattern || source.starts_with(&format!("{pattern}/"))),
                "COPY source `{source}` is excluded by .dockerignore"
            );
            copied.push((source.to_string(), destination.to_string()));
        }
    }
    assert!(copied.iter().any(|(source, _)| source == "Cargo.lock"));
    // The built-in config the binary embeds.
    assert!(copied.iter().any(|(source, _)| source == "config"));

    // The runtime stage: the builder's binary, a non-root user, the data volume, the port of
    // the image's config, a health check, and the binary as entry point.
    let runtime_value = |name: &str| -> &str {
        runtime
            .iter()
            .rev()
            .find(|(instruction, _)| instruction == name)
            .map(|(_, arguments)| arguments.as_str())
            .unwrap_or_else(|| panic!("no {name} in the runtime stage"))
    };
    assert_eq!(
        runtime_value("COPY"),
        "deploy/docker/healthcheck.sh /usr/local/bin/earful-healthcheck"
    );
    assert!(runtime
        .iter()
        .any(|(instruction, arguments)| instruction == "COPY"
            && arguments == "--from=builder /out/earful /usr/local/bin/earful"));
    let user = runtime_value("USER");
    let user_name = user.split(':').next().unwrap();
    assert!(
        !user_name.is_empty() && user_name != "root" && user_name != "0",
        "USER {user}"
    );
    let config_destination = copied
        .iter()
        .find(|(source, _)| source == "deploy/docker/earful.toml")
        .map(|(_, destination)| destination.clone())
        .expect("the image's config is copied");
    assert!(runtime_value("ENV").contains(&format!("EARFUL_CONFIG={config_destination}")));
    let image_config = read(&deploy("docker/earful.toml"));
    assert_eq!(
        runtime_value("VOLUME"),
        toml_string(&image_config, "data_dir").unwrap()
    );
    let listen = toml_string(&image_config, "listen").unwrap();
    assert_eq!(
        Some(runtime_value("EXPOSE")),
        listen.rsplit(':').next(),
        "EXPOSE against listen = {listen}"
    );
    // HEALTHCHECK runs the probe directly, so COPY must carry an executable file.
    let probe_mode = std::fs::metadata(deploy("docker/healthcheck.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_ne!(probe_mode & 0o111, 0, "healthcheck.sh is not executable");
    let healthcheck = runtime_value("HEALTHCHECK");
    let probe = exec_form(healthcheck.split_once("CMD ").expect("HEALTHCHECK CMD").1);
    assert_eq!(
        probe,
        ["/usr/local/bin/earful-healthcheck", runtime_value("EXPOSE")]
    );
    assert_eq!(
        exec_form(runtime_value("ENTRYPOINT")),
        ["/usr/local/bin/earful"]
    );
    let command = exec_form(runtime_value("CMD"));
    assert_eq!(command, ["run"]);
}

/// The container's probe against the real `/readyz` of Earful's server over a real index:
/// healthy when ready, unhealthy when the server is shutting down or gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_probe_follows_readyz() {
    let index_dir = tempfile::tempdir().unwrap();
    let index =
        earful_index::MentionIndex::open(index_dir.path(), earful_index::IndexOptions::default())
            .unwrap();
    let state = earful_server::ApiState::new(Arc::new(index));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let app = earful_server::app(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // The probe runs as Docker runs it, a separate process; off the runtime's threads.
    let probe = |port: String| async move {
        tokio::task::spawn_blocking(move || {
            Command::new("bash")
                .arg(deploy("docker/healthcheck.sh"))
                .arg(port)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    let healthy = probe(port.clone()).await;
    assert!(healthy.status.success(), "{}", text(&healthy.stderr));

    state.set_ready(false);
    assert!(!probe(port.clone()).await.status.success());

    server.abort();
    let _ = server.await;
    assert!(!probe(port).await.status.success());
}

// ## Compose

/// A compose file as JSON, through PyYAML when it is installed (the workspace has no YAML
/// parser, and one is not worth a dependency for a test).
fn compose_file(path: &Path) -> Option<Value> {
    let converted = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .ok()?;
    if !converted.status.success() {
        let stderr = text(&converted.stderr);
        if stderr.contains("No module named 'yaml'") {
            return None;
        }
        panic!("{}: {stderr}", path.display());
    }
    Some(serde_json::from_slice(&converted.stdout).unwrap())
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A service's `environment:` as the container sees it, with compose's `${NAME:?message}`
/// references filled from the example environment file.
fn service_environment(definition: &Value) -> Vec<(String, String)> {
    let example = example_environment();
    let Some(variables) = definition["environment"].as_object() else {
        return Vec::new();
    };
    variables
        .iter()
        .map(|(name, value)| {
            let value = value.as_str().unwrap();
            let resolved = match value.strip_prefix("${") {
                Some(reference) => {
                    let referenced = reference.split([':', '}']).next().unwrap();
                    example
                        .iter()
                        .find(|(example_name, _)| example_name == referenced)
                        .map(|(_, example_value)| example_value.clone())
                        .unwrap_or_else(|| panic!("`{referenced}` is not in earful.env.example"))
                }
                None => value.to_string(),
            };
            (name.clone(), resolved)
        })
        .collect()
}

/// Checks what every service of a compose file refers to, and returns its services.
fn check_compose(name: &str) -> Option<serde_json::Map<String, Value>> {
    let path = deploy(&format!("compose/{name}"));
    let Some(document) = compose_file(&path) else {
        eprintln!("PyYAML is not installed: {name} was not parsed");
        return None;
    };
    let compose_dir = path.parent().unwrap();
    let services = document["services"].as_object().unwrap().clone();
    let volumes = document["volumes"].as_object().cloned().unwrap_or_default();
    for (service, definition) in &services {
        let environment = service_environment(definition);
        if let Some(build) = definition.get("build") {
            let context = compose_dir.join(build["context"].as_str().unwrap());
            assert!(context.join(build["dockerfile"].as_str().unwrap()).exists());
        }
        for mount in strings(&definition["volumes"]) {
            let host = mount.split(':').next().unwrap();
            if host.starts_with('.') {
                let file = compose_dir.join(host);
                assert!(file.exists(), "{name}: {service} mounts missing `{host}`");
                if host.ends_with(".toml") {
                    let check = earful(
                        &["--config", file.to_str().unwrap(), "config", "check"],
                        &environment,
                    );
                    assert!(check.status.success(), "{host}: {}", text(&check.stderr));
                }
            } else {
                assert!(
                    volumes.contains_key(host),
                    "{name}: volume `{host}` undeclared"
                );
            }
        }
        // The real binary accepts the service's command line (its parser stops at --help).
        let uses_earful = definition.get("build").is_some()
            || definition["image"]
                .as_str()
                .is_some_and(|image| image.starts_with("earful"));
        if uses_earful {
            let mut arguments = strings(&definition["command"]);
            assert!(!arguments.is_empty(), "{name}: {service} has no command");
            arguments.push("--help".into());
            let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
            let parsed = earful(&arguments, &environment);
            assert!(
                parsed.status.success(),
                "{name}: {service}: `earful {}` is refused: {}",
                arguments.join(" "),
                text(&parsed.stderr)
            );
            assert!(
                definition["stop_grace_period"]
                    .as_str()
                    .is_some_and(|grace| seconds(grace) > 10),
                "{name}: {service} needs more than the daemon's 10 s to stop"
            );
        }
    }
    Some(services)
}

#[test]
fn single_node_compose_runs_the_daemon_over_the_data_volume() {
    let Some(services) = check_compose("single-node.yml") else {
        return;
    };
    assert_eq!(services.len(), 1);
    let earful = &services["earful"];
    assert_eq!(strings(&earful["command"]), ["run"]);
    assert!(strings(&earful["volumes"]).contains(&"earful-data:/var/lib/earful".to_string()));
    assert_eq!(strings(&earful["ports"]), ["127.0.0.1:7878:7878"]);
}

#[test]
fn scale_out_compose_has_nats_with_jetstream_collectors_by_hash_and_one_indexer() {
    let Some(services) = check_compose("scale-out.yml") else {
        return;
    };
    let nats = &services["nats"];
    assert!(strings(&nats["command"]).contains(&"-js".to_string()));
    let role_of = |definition: &Value| -> Option<String> {
        let command = strings(&definition["command"]);
        let position = command.iter().position(|word| word == "--role")?;
        command.get(position + 1).cloned()
    };
    let mut collector_indexes = Vec::new();
    let mut indexers = Vec::new();
    for (name, definition) in &services {
        let Some(role) = role_of(definition) else {
            continue;
        };
        let command = strings(&definition["command"]);
        assert!(
            command
                .windows(2)
                .any(|pair| pair == ["--nats", "nats://nats:4222"]),
            "{name}: {command:?}"
        );
        let environment: BTreeMap<String, String> =
            service_environment(definition).into_iter().collect();
        match role.as_str() {
            "collector" => {
                assert_eq!(environment["EARFUL_NODE"], *name);
                assert!(definition.get("ports").is_none(), "{name} serves nothing");
                // It serves no /readyz either, so the image's probe must not judge it.
                assert_eq!(definition["healthcheck"]["disable"], true, "{name}");
                collector_indexes.push(environment["EARFUL_NODE_INDEX"].parse::<u32>().unwrap());
            }
            "indexer" => indexers.push(name.clone()),
            other => panic!("{name}: unexpected role `{other}`"),
        }
        assert_eq!(
            environment["EARFUL_COLLECTORS"].parse::<usize>().unwrap(),
            services
                .values()
                .filter(|other| role_of(other).as_deref() == Some("collector"))
                .count(),
            "{name}: EARFUL_COLLECTORS must be the number of collector services"
        );
    }
    // Every hash slot has exactly one collector.
    collector_indexes.sort_unstable();
    assert!(collector_indexes.len() >= 2, "{collector_indexes:?}");
    assert_eq!(
        collector_indexes,
        (0..collector_indexes.len() as u32).collect::<Vec<_>>()
    );
    assert_eq!(indexers, ["indexer"]);
    assert_eq!(
        strings(&services["indexer"]["ports"]),
        ["127.0.0.1:7878:7878"]
    );
}
