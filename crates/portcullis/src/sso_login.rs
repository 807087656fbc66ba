//! `portcullis sso login --profile NAME`: the device authorization sign-in of IAM Identity
//! Center for a profile of the AWS config file, writing botocore's SSO token cache so that
//! boto3 and aws-cli profiles with `sso_session` (or the older `sso_start_url`),
//! `sso_account_id` and `sso_role_name` get credentials from the access portal.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use sha1::Digest;

/// The sections of an AWS config file: `profile NAME`, `default`, `sso-session NAME`.
fn read_config(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_owned();
            sections.entry(current.clone()).or_default();
        } else if let Some((k, v)) = line.split_once('=') {
            sections.entry(current.clone()).or_default().insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    sections
}

fn home() -> anyhow::Result<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from).context("HOME is not set")
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.replace_nanosecond(0).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// What the sign-in needs from the profile: (cache key, start URL, Region).
fn profile_settings(profile: &str) -> anyhow::Result<(String, String, String)> {
    let path = match std::env::var_os("AWS_CONFIG_FILE") {
        Some(p) => PathBuf::from(p),
        None => home()?.join(".aws").join("config"),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read the AWS config file {}", path.display()))?;
    let sections = read_config(&text);
    let section = if profile == "default" { "default".to_owned() } else { format!("profile {profile}") };
    let p = sections.get(&section).with_context(|| format!("the config file {} has no profile {profile}", path.display()))?;
    if let Some(session) = p.get("sso_session") {
        let s = sections.get(&format!("sso-session {session}")).with_context(|| format!("the config file has no [sso-session {session}]"))?;
        let url = s.get("sso_start_url").context("the sso-session has no sso_start_url")?;
        let region = s.get("sso_region").cloned().unwrap_or_else(|| "us-east-1".to_owned());
        return Ok((session.clone(), url.clone(), region));
    }
    // The older form: the start URL in the profile, the cache keyed by it.
    let url = p.get("sso_start_url").with_context(|| format!("profile {profile} has neither sso_session nor sso_start_url"))?;
    let region = p.get("sso_region").cloned().unwrap_or_else(|| "us-east-1".to_owned());
    Ok((url.clone(), url.clone(), region))
}

pub async fn login(profile: &str, endpoint: Option<String>, open_browser: bool) -> anyhow::Result<()> {
    let (cache_key, start_url, region) = profile_settings(profile)?;
    let endpoint = endpoint
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_SSO_OIDC").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .unwrap_or_else(|| format!("https://oidc.{region}.amazonaws.com"));
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let call = |path: &str, body: Value| {
        let req = http.post(format!("{endpoint}{path}")).json(&body);
        let target = endpoint.clone();
        async move {
            let resp = req.send().await.with_context(|| format!("cannot reach {target}"))?;
            let status = resp.status();
            let v: Value = resp.json().await.unwrap_or_default();
            anyhow::Ok((status, v))
        }
    };
    let (status, client) = call("/client/register", json!({"clientName": format!("portcullis-sso-login-{}", std::process::id()), "clientType": "public"})).await?;
    if !status.is_success() {
        bail!("RegisterClient failed: {client}");
    }
    let (client_id, client_secret) = (client["clientId"].as_str().unwrap_or_default(), client["clientSecret"].as_str().unwrap_or_default());
    let (status, device) = call("/device_authorization", json!({"clientId": client_id, "clientSecret": client_secret, "startUrl": start_url})).await?;
    if !status.is_success() {
        bail!("StartDeviceAuthorization failed: {device}");
    }
    let uri = device["verificationUriComplete"].as_str().unwrap_or_default();
    println!("Attempting to open the sign-in page in your browser.");
    println!("If it does not open, open the following URL:\n\n{uri}\n");
    println!("Then enter the code:\n\n{}\n", device["userCode"].as_str().unwrap_or_default());
    if open_browser {
        for opener in ["xdg-open", "open"] {
            if std::process::Command::new(opener).arg(uri).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().is_ok() {
                break;
            }
        }
    }
    let mut interval = device["interval"].as_u64().unwrap_or(5).max(1);
    let deadline = std::time::Instant::now() + Duration::from_secs(device["expiresIn"].as_u64().unwrap_or(600));
    let token = loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        if std::time::Instant::now() > deadline {
            bail!("the device code expired before it was approved");
        }
        let grant = json!({"clientId": client_id, "clientSecret": client_secret, "grantType": "urn:ietf:params:oauth:grant-type:device_code", "deviceCode": device["deviceCode"]});
        let (status, v) = call("/token", grant).await?;
        if status.is_success() {
            break v;
        }
        match v["error"].as_str() {
            Some("authorization_pending") => {}
            Some("slow_down") => interval += 5,
            _ => bail!("CreateToken failed: {v}"),
        }
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let cache = json!({
        "startUrl": start_url,
        "region": region,
        "accessToken": token["accessToken"],
        "expiresAt": rfc3339(now + token["expiresIn"].as_i64().unwrap_or(3600)),
        "clientId": client_id,
        "clientSecret": client_secret,
        "registrationExpiresAt": rfc3339(client["clientSecretExpiresAt"].as_i64().unwrap_or(now)),
        "refreshToken": token["refreshToken"],
    });
    let dir = home()?.join(".aws").join("sso").join("cache");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name: String = sha1::Sha1::digest(cache_key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("{name}.json"));
    write_private(&path, &cache.to_string())?;
    println!("Successfully signed in to the start URL: {start_url}");
    Ok(())
}

/// Writes a file only its owner can read (it holds tokens).
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_profiles_and_sso_sessions() {
        let s = read_config("[profile john]\nsso_session = tut\n# comment\n[sso-session tut]\nsso_start_url = http://x/start/d-0123456789\nsso_region=us-east-1\n");
        assert_eq!(s["profile john"]["sso_session"], "tut");
        assert_eq!(s["sso-session tut"]["sso_start_url"], "http://x/start/d-0123456789");
        assert_eq!(s["sso-session tut"]["sso_region"], "us-east-1");
    }
}
