//! What a reloaded config changes, decided by comparing it with the running one: which parts
//! to rebuild live, and which settings only a restart applies.

use earful_core::config::Config;

/// The parts of a new config that differ from the running one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigChanges {
    /// `[[watch]]` or the sentiment lexicon: rebuild the enricher and the evaluator.
    pub watches: bool,
    /// `[[notify]]`: rebuild the deliverer and the evaluator's routes.
    pub channels: bool,
    /// `[alerting]`: rebuild the evaluator.
    pub alerting: bool,
    /// `[server]` tokens or anonymous reads.
    pub server: bool,
    /// Settings that changed but only take effect after a restart (kept as they run).
    pub needs_restart: Vec<&'static str>,
}

impl ConfigChanges {
    /// Compares `new` with `running`.
    pub fn between(running: &Config, new: &Config) -> ConfigChanges {
        let mut needs_restart = Vec::new();
        if running.data_dir != new.data_dir {
            needs_restart.push("data_dir");
        }
        if running.server.listen != new.server.listen {
            needs_restart.push("server.listen");
        }
        if running.index != new.index {
            needs_restart.push("index");
        }
        if running.collect != new.collect {
            needs_restart.push("collect");
        }
        ConfigChanges {
            watches: running.watches != new.watches || running.sentiment != new.sentiment,
            channels: running.notifiers != new.notifiers,
            alerting: running.alerting != new.alerting,
            server: running.server.tokens != new.server.tokens
                || running.server.allow_anonymous_read != new.server.allow_anonymous_read,
            needs_restart,
        }
    }

    /// Whether the evaluator must be rebuilt (it holds the watches, the detector settings and
    /// the routes to the channels).
    pub fn evaluator(&self) -> bool {
        self.watches || self.channels || self.alerting
    }
}

/// The config the daemon runs after a reload: `new`, except for the settings that need a
/// restart, which stay as they run (so the next reload compares against what really runs).
pub fn effective(running: &Config, new: Config) -> Config {
    let mut effective = new;
    effective.data_dir = running.data_dir.clone();
    effective.server.listen = running.server.listen.clone();
    effective.index = running.index.clone();
    effective.collect = running.collect.clone();
    effective
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text, "test.toml", |_| None).unwrap()
    }

    const BASE: &str = "version = 1\n[server]\nlisten = \"127.0.0.1:7000\"\n[[watch]]\nname = \"acme\"\nquery = \"acme\"\n";

    #[test]
    fn the_same_config_changes_nothing() {
        let running = config(BASE);
        assert_eq!(
            ConfigChanges::between(&running, &running.clone()),
            ConfigChanges::default()
        );
    }

    #[test]
    fn live_parts_and_restart_only_settings_are_told_apart() {
        let running = config(BASE);
        let new = config(
            "version = 1\ndata_dir = \"elsewhere\"\n[server]\nlisten = \"127.0.0.1:7001\"\n[[watch]]\nname = \"acme\"\nquery = \"acme OR acmecorp\"\n[index]\nwriter_heap_mb = 64\n[alerting]\nsensitivity = \"more\"\n",
        );
        let changes = ConfigChanges::between(&running, &new);
        assert!(changes.watches);
        assert!(changes.alerting);
        assert!(changes.evaluator());
        assert!(!changes.channels);
        assert!(!changes.server);
        assert_eq!(
            changes.needs_restart,
            ["data_dir", "server.listen", "index"]
        );
        let effective = effective(&running, new.clone());
        assert_eq!(effective.data_dir, running.data_dir);
        assert_eq!(effective.server.listen, "127.0.0.1:7000");
        assert_eq!(effective.index, running.index);
        assert_eq!(effective.watches, new.watches);
        // Compared with what runs, the restart-only settings still show as pending.
        assert_eq!(
            ConfigChanges::between(&effective, &new).needs_restart,
            ["data_dir", "server.listen", "index"]
        );
    }
}
