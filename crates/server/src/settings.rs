//! Loading the configuration: the TOML file, then `SWITCHYARD__SECTION__KEY` overrides.

use anyhow::{Context, Result};
use runtime::Config;
use std::path::Path;

/// Read `path` (missing file = all defaults only when `path` is `None`), apply env overrides.
pub fn load(path: Option<&Path>, env: impl Iterator<Item = (String, String)>) -> Result<Config> {
    let mut table: toml::Table = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read config file {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("invalid TOML in {}", p.display()))?
        }
        None => toml::Table::new(),
    };
    apply_env(&mut table, env)?;
    let config: Config = toml::Value::Table(table)
        .try_into()
        .context("invalid configuration")?;
    Ok(config)
}

/// `SWITCHYARD__SIP__PUBLIC_ADDRESS=1.2.3.4` sets `[sip] public_address`. Values are read as
/// TOML when they parse (`5060`, `["udp:0.0.0.0:5060"]`, `true`), else as strings.
fn apply_env(table: &mut toml::Table, env: impl Iterator<Item = (String, String)>) -> Result<()> {
    for (name, value) in env {
        let Some(path) = name.strip_prefix("SWITCHYARD__") else {
            continue;
        };
        let parts: Vec<String> = path.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if parts.iter().any(|p| p.is_empty()) {
            anyhow::bail!("bad environment override name {name}");
        }
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(value));
        let mut cursor = &mut *table;
        for section in &parts[..parts.len() - 1] {
            cursor = cursor
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .with_context(|| format!("{name}: {section} is not a section"))?;
        }
        cursor.insert(parts[parts.len() - 1].clone(), parsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_values_with_typed_values() {
        let dir = std::env::temp_dir().join(format!("sy-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "[sip]\nuser_agent = \"x\"\n[rtp]\nport_min = 100\n").unwrap();
        let env = vec![
            ("SWITCHYARD__RTP__PORT_MIN".to_string(), "4000".to_string()),
            (
                "SWITCHYARD__SIP__PUBLIC_ADDRESS".to_string(),
                "203.0.113.9".to_string(),
            ),
            ("OTHER".to_string(), "1".to_string()),
        ];
        let c = load(Some(&file), env.into_iter()).unwrap();
        assert_eq!(c.rtp.port_min, 4000);
        assert_eq!(c.sip.public_address, "203.0.113.9");
        assert_eq!(c.sip.user_agent, "x");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let env = vec![("SWITCHYARD__SIP__LISTNE".to_string(), "x".to_string())];
        assert!(load(None, env.into_iter()).is_err());
    }
}
