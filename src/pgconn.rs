//! Connecting to a PostgreSQL server the way libpq tools (psql, pg_dump) do.
//!
//! A connection is described by an optional connection string — `key=value …` or a
//! `postgresql://` URI, parsed by the `postgres` crate — plus psql-style `-h`/`-p`/`-U`
//! options. As in psql, fields of the connection string take precedence over those options;
//! fields set by neither come from the `PG*` environment variables, then from libpq's defaults:
//! host `/var/run/postgresql` (Debian's socket directory) then `localhost`, port 5432, the
//! operating-system user name as user name, and the user name as database name. A password not
//! given explicitly (connection string, `PGPASSWORD`) is looked up in the password file
//! (`passfile`, `PGPASSFILE`, `~/.pgpass`) with libpq's matching rules.
//!
//! pglcr is built without TLS: `sslmode` `disable`, `allow` and `prefer` connect in clear text,
//! `require`, `verify-ca` and `verify-full` are refused with an error.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Debian's compiled-in unix-socket directory.
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
pub const DEFAULT_PORT: u16 = 5432;
/// `application_name` when neither the connection string nor `PGAPPNAME` sets one.
pub const DEFAULT_APPLICATION_NAME: &str = "pglcr";

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("invalid connection string \"{conninfo}\": {message}")]
    ConnInfo { conninfo: String, message: String },
    #[error("invalid {name} value \"{value}\"")]
    InvalidValue { name: &'static str, value: String },
    #[error(
        "sslmode \"{0}\" requires TLS, which this build of pglcr does not support \
         (use sslmode disable, allow or prefer)"
    )]
    TlsUnsupported(String),
    #[error("could not determine the operating system user name; set PGUSER or use -U")]
    NoOsUser,
    #[error("{hosts} host names but {addrs} host addresses (hostaddr)")]
    HostCount { hosts: usize, addrs: usize },
    /// Every host tried, with why it failed.
    #[error("{}", connect_failure_text(.user, .dbname, .failures))]
    Connect {
        user: String,
        dbname: String,
        failures: Vec<(Target, String)>,
    },
}

/// psql-style options: `-d` (a database name or a connection string), `-h`, `-p`, `-U`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnOptions {
    pub dbname: Option<String>,
    pub host: Option<String>,
    pub port: Option<String>,
    pub user: Option<String>,
}

/// What libpq reads from outside the command line: environment variables, the operating-system
/// user name and home directory. Kept apart so the rules can be tested.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub vars: HashMap<String, String>,
    pub os_user: Option<String>,
    pub home: Option<PathBuf>,
}

impl Environment {
    pub fn from_process() -> Environment {
        let vars = std::env::vars()
            .filter(|(k, _)| k.starts_with("PG"))
            .collect();
        let (os_user, pw_home) = os_user_and_home();
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or(pw_home);
        Environment {
            vars,
            os_user,
            home,
        }
    }

    /// A variable's value; libpq ignores unset and (for our purposes) empty ones.
    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// The effective user's name and home directory from the password database.
fn os_user_and_home() -> (Option<String>, Option<PathBuf>) {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes into pwd and buf, whose sizes we pass; result points to pwd or
    // is null.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return (None, None);
    }
    // SAFETY: on success the fields point to NUL-terminated strings inside buf.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    let dir = unsafe { CStr::from_ptr(pwd.pw_dir) };
    let home = (!dir.to_bytes().is_empty())
        .then(|| PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes())));
    (Some(name), home)
}

/// One server address to try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// A host name, or a unix-socket directory (starting with `/`).
    pub host: Option<String>,
    pub hostaddr: Option<IpAddr>,
    pub port: u16,
}

impl Target {
    pub fn is_unix_socket(&self) -> bool {
        self.hostaddr.is_none() && self.host.as_deref().is_some_and(|h| h.starts_with('/'))
    }

    /// The host name the password file is matched against, as libpq chooses it.
    fn pgpass_host(&self) -> String {
        match (&self.host, &self.hostaddr) {
            (Some(h), _) if h == DEFAULT_SOCKET_DIR => "localhost".to_string(),
            (Some(h), _) => h.clone(),
            (None, Some(a)) => a.to_string(),
            (None, None) => "localhost".to_string(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unix_socket() {
            let dir = self.host.as_deref().unwrap_or_default();
            return write!(
                f,
                "host \"{dir}\" port {} (socket \"{}/.s.PGSQL.{}\")",
                self.port,
                dir.trim_end_matches('/'),
                self.port
            );
        }
        match (&self.host, &self.hostaddr) {
            (Some(h), Some(a)) => write!(f, "host \"{h}\" ({a}) port {}", self.port),
            (Some(h), None) => write!(f, "host \"{h}\" port {}", self.port),
            (None, Some(a)) => write!(f, "host \"{a}\" port {}", self.port),
            (None, None) => write!(f, "port {}", self.port),
        }
    }
}

/// Fully resolved connection parameters.
#[derive(Clone, Debug)]
pub struct ConnParams {
    pub targets: Vec<Target>,
    pub user: String,
    pub dbname: String,
    /// From the connection string or `PGPASSWORD`; otherwise the password file is read.
    pub password: Option<String>,
    pub passfile: Option<PathBuf>,
    pub options: Option<String>,
    pub application_name: String,
    pub connect_timeout: Option<Duration>,
    pub sslmode: String,
    /// The parsed connection string, for the settings copied as they are (keepalives, …).
    base: postgres::Config,
}

/// True when psql would take `-d VALUE` as a connection string rather than a database name.
pub fn is_conninfo(value: &str) -> bool {
    value.starts_with("postgresql://") || value.starts_with("postgres://") || value.contains('=')
}

impl ConnParams {
    /// Resolves the options against the process environment.
    pub fn resolve(opts: &ConnOptions) -> Result<ConnParams, ConnError> {
        ConnParams::resolve_in(opts, &Environment::from_process())
    }

    /// Resolves the options: connection string, then `-h`/`-p`/`-U`/database name, then
    /// environment, then defaults.
    pub fn resolve_in(opts: &ConnOptions, env: &Environment) -> Result<ConnParams, ConnError> {
        let (conninfo, plain_dbname) = match opts.dbname.as_deref() {
            Some(d) if is_conninfo(d) => (Some(d), None),
            Some(d) if !d.is_empty() => (None, Some(d)),
            _ => (None, None),
        };
        let mut extra = ExtraParams::default();
        let base = match conninfo {
            Some(ci) => {
                let cleaned = extract_extra_params(ci, &mut extra)?;
                cleaned
                    .parse::<postgres::Config>()
                    .map_err(|e| ConnError::ConnInfo {
                        conninfo: ci.to_string(),
                        message: error_text(&e),
                    })?
            }
            None => postgres::Config::new(),
        };

        // host / hostaddr
        let split = |s: &str| -> Vec<String> { s.split(',').map(str::to_string).collect() };
        let mut hosts: Vec<String> = base
            .get_hosts()
            .iter()
            .map(|h| match h {
                postgres::config::Host::Tcp(s) => s.clone(),
                postgres::config::Host::Unix(p) => p.to_string_lossy().into_owned(),
            })
            .collect();
        if hosts.is_empty() {
            if let Some(h) = opts.host.as_deref().filter(|h| !h.is_empty()) {
                hosts = split(h);
            } else if let Some(h) = env.var("PGHOST") {
                hosts = split(h);
            }
        }
        let mut hostaddrs: Vec<IpAddr> = base.get_hostaddrs().to_vec();
        if hostaddrs.is_empty() {
            if let Some(a) = env.var("PGHOSTADDR") {
                for s in a.split(',') {
                    hostaddrs.push(s.trim().parse().map_err(|_| ConnError::InvalidValue {
                        name: "PGHOSTADDR",
                        value: a.to_string(),
                    })?);
                }
            }
        }
        if hosts.is_empty() && hostaddrs.is_empty() {
            hosts = vec![DEFAULT_SOCKET_DIR.to_string(), "localhost".to_string()];
        }
        if !hosts.is_empty() && !hostaddrs.is_empty() && hosts.len() != hostaddrs.len() {
            return Err(ConnError::HostCount {
                hosts: hosts.len(),
                addrs: hostaddrs.len(),
            });
        }

        // port
        let mut ports: Vec<u16> = base.get_ports().to_vec();
        if ports.is_empty() {
            let (name, value) = match (opts.port.as_deref(), env.var("PGPORT")) {
                (Some(p), _) if !p.is_empty() => ("port", Some(p)),
                (_, Some(p)) => ("PGPORT", Some(p)),
                _ => ("port", None),
            };
            if let Some(value) = value {
                for p in value.split(',') {
                    ports.push(if p.is_empty() {
                        DEFAULT_PORT
                    } else {
                        p.trim().parse().map_err(|_| ConnError::InvalidValue {
                            name,
                            value: value.to_string(),
                        })?
                    });
                }
            }
        }
        let count = hosts.len().max(hostaddrs.len());
        let targets = (0..count)
            .map(|i| Target {
                host: hosts.get(i).filter(|h| !h.is_empty()).cloned(),
                hostaddr: hostaddrs.get(i).copied(),
                port: ports
                    .get(i)
                    .or_else(|| ports.first())
                    .copied()
                    .unwrap_or(DEFAULT_PORT),
            })
            .collect();

        let user = match base
            .get_user()
            .or(opts.user.as_deref().filter(|u| !u.is_empty()))
            .or(env.var("PGUSER"))
        {
            Some(u) => u.to_string(),
            None => env.os_user.clone().ok_or(ConnError::NoOsUser)?,
        };
        let dbname = base
            .get_dbname()
            .or(plain_dbname)
            .or(env.var("PGDATABASE"))
            .unwrap_or(&user)
            .to_string();
        let password = match base.get_password() {
            Some(p) => Some(String::from_utf8_lossy(p).into_owned()),
            None => env.var("PGPASSWORD").map(str::to_string),
        };
        let passfile = extra
            .passfile
            .map(PathBuf::from)
            .or_else(|| env.var("PGPASSFILE").map(PathBuf::from))
            .or_else(|| env.home.as_ref().map(|h| h.join(".pgpass")));
        let options = base
            .get_options()
            .or(env.var("PGOPTIONS"))
            .map(str::to_string);
        let application_name = base
            .get_application_name()
            .or(env.var("PGAPPNAME"))
            .unwrap_or(DEFAULT_APPLICATION_NAME)
            .to_string();
        let connect_timeout = match base.get_connect_timeout() {
            Some(t) => Some(*t),
            None => match env.var("PGCONNECT_TIMEOUT") {
                Some(v) => {
                    let secs: i64 = v.trim().parse().map_err(|_| ConnError::InvalidValue {
                        name: "PGCONNECT_TIMEOUT",
                        value: v.to_string(),
                    })?;
                    // libpq: zero or negative waits forever, less than 2 seconds means 2
                    (secs > 0).then(|| Duration::from_secs(secs.max(2) as u64))
                }
                None => None,
            },
        };
        let (sslmode_name, sslmode) = match (&extra.sslmode, env.var("PGSSLMODE")) {
            (Some(m), _) => ("sslmode", m.clone()),
            (None, Some(m)) => ("PGSSLMODE", m.to_string()),
            (None, None) => ("sslmode", "prefer".to_string()),
        };
        match sslmode.as_str() {
            "disable" | "allow" | "prefer" => {}
            "require" | "verify-ca" | "verify-full" => {
                return Err(ConnError::TlsUnsupported(sslmode))
            }
            _ => {
                return Err(ConnError::InvalidValue {
                    name: sslmode_name,
                    value: sslmode,
                })
            }
        }
        Ok(ConnParams {
            targets,
            user,
            dbname,
            password,
            passfile,
            options,
            application_name,
            connect_timeout,
            sslmode,
            base,
        })
    }

    /// The password for one target: explicit, else from the password file.
    pub fn password_for(&self, target: &Target) -> (Option<String>, bool) {
        if let Some(p) = &self.password {
            return (Some(p.clone()), false);
        }
        let Some(file) = &self.passfile else {
            return (None, false);
        };
        let found = read_passfile(file).and_then(|text| {
            pgpass_lookup(
                &text,
                &target.pgpass_host(),
                &target.port.to_string(),
                &self.dbname,
                &self.user,
            )
        });
        let from_file = found.is_some();
        (found, from_file)
    }

    fn config_for(&self, target: &Target, password: Option<&str>) -> postgres::Config {
        let b = &self.base;
        let mut c = postgres::Config::new();
        c.user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name)
            .ssl_mode(postgres::config::SslMode::Disable)
            .port(target.port)
            .keepalives(b.get_keepalives())
            .keepalives_idle(b.get_keepalives_idle())
            .target_session_attrs(b.get_target_session_attrs())
            .channel_binding(b.get_channel_binding());
        if let Some(h) = &target.host {
            c.host(h);
        }
        if let Some(a) = target.hostaddr {
            c.hostaddr(a);
        }
        if let Some(p) = password {
            c.password(p);
        }
        if let Some(o) = &self.options {
            c.options(o);
        }
        if let Some(t) = self.connect_timeout {
            c.connect_timeout(t);
        }
        if let Some(t) = b.get_tcp_user_timeout() {
            c.tcp_user_timeout(*t);
        }
        if let Some(t) = b.get_keepalives_interval() {
            c.keepalives_interval(t);
        }
        if let Some(n) = b.get_keepalives_retries() {
            c.keepalives_retries(n);
        }
        c
    }

    /// Connects to the first target that accepts; the error names every target tried and
    /// why it failed.
    pub fn connect(&self) -> Result<(postgres::Client, Target), ConnError> {
        let mut failures = Vec::new();
        for target in &self.targets {
            let (password, from_file) = self.password_for(target);
            let config = self.config_for(target, password.as_deref());
            match config.connect(postgres::NoTls) {
                Ok(client) => return Ok((client, target.clone())),
                Err(e) => {
                    let mut msg = error_text(&e);
                    if msg.ends_with("password missing") {
                        msg = format!(
                            "the server requested password authentication for user \"{}\" but \
                             no password was supplied (connection string, PGPASSWORD, or \
                             password file {})",
                            self.user,
                            self.passfile
                                .as_ref()
                                .map(|p| format!("\"{}\"", p.display()))
                                .unwrap_or_else(|| "~/.pgpass".to_string())
                        );
                    } else if from_file && e.as_db_error().is_some() {
                        if let Some(p) = &self.passfile {
                            msg.push_str(&format!(
                                "\npassword retrieved from file \"{}\"",
                                p.display()
                            ));
                        }
                    }
                    failures.push((target.clone(), msg));
                }
            }
        }
        Err(ConnError::Connect {
            user: self.user.clone(),
            dbname: self.dbname.clone(),
            failures,
        })
    }
}

fn connect_failure_text(user: &str, dbname: &str, failures: &[(Target, String)]) -> String {
    let what = format!("could not connect as user \"{user}\" to database \"{dbname}\"");
    match failures {
        [] => format!("{what}: no server address to try"),
        [(target, msg)] => format!("{what} at {target}: {msg}"),
        _ => {
            let mut s = format!("{what}:");
            for (target, msg) in failures {
                s.push_str(&format!("\n  at {target}: {}", msg.replace('\n', "\n    ")));
            }
            s
        }
    }
}

/// Connects with psql-style options and the process environment.
pub fn connect(opts: &ConnOptions) -> Result<(postgres::Client, Target), ConnError> {
    ConnParams::resolve(opts)?.connect()
}

/// A readable message for a `postgres` error: the server's own message when there is one,
/// otherwise the error and its causes.
pub fn error_text(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{}:  {}", db.severity(), db.message());
        if let Some(d) = db.detail() {
            s.push_str(&format!("\nDETAIL:  {d}"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("\nHINT:  {h}"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    s
}

/// Connection-string keywords libpq knows that the `postgres` crate does not parse (or parses
/// more narrowly): taken out of the string before the crate sees it.
#[derive(Debug, Default)]
struct ExtraParams {
    sslmode: Option<String>,
    passfile: Option<String>,
}

const EXTRA_KEYS: [&str; 2] = ["sslmode", "passfile"];

/// Removes `sslmode` and `passfile` from a connection string (either form), recording their
/// values.
fn extract_extra_params(conninfo: &str, extra: &mut ExtraParams) -> Result<String, ConnError> {
    let mut record = |key: &str, value: String| match key {
        "sslmode" => extra.sslmode = Some(value),
        _ => extra.passfile = Some(value),
    };
    if conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://") {
        let Some((head, query)) = conninfo.split_once('?') else {
            return Ok(conninfo.to_string());
        };
        let mut kept = Vec::new();
        for part in query.split('&') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            if EXTRA_KEYS.contains(&k) {
                record(k, percent_decode(v));
            } else {
                kept.push(part);
            }
        }
        return Ok(if kept.is_empty() {
            head.to_string()
        } else {
            format!("{head}?{}", kept.join("&"))
        });
    }
    let pairs = parse_keyword_value(conninfo).map_err(|message| ConnError::ConnInfo {
        conninfo: conninfo.to_string(),
        message,
    })?;
    let mut out = String::new();
    for (k, v) in pairs {
        if EXTRA_KEYS.contains(&k.as_str()) {
            record(&k, v);
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!(
                "{k}='{}'",
                v.replace('\\', "\\\\").replace('\'', "\\'")
            ));
        }
    }
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a `key=value …` connection string as libpq's conninfo_parse does: values may be
/// single-quoted; a backslash escapes the next character.
fn parse_keyword_value(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|&c| c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("missing \"=\" after \"{key}\""));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err("unterminated quoted string".to_string()),
                    Some('\\') => value.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

/// Reads the password file if libpq would: a plain file without group or world permissions.
/// Otherwise a warning is printed on stderr, as libpq prints it, and the file is ignored.
fn read_passfile(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        eprintln!(
            "WARNING: password file \"{}\" is not a plain file",
            path.display()
        );
        return None;
    }
    if meta.permissions().mode() & 0o077 != 0 {
        eprintln!(
            "WARNING: password file \"{}\" has group or world access; permissions should be \
             u=rw (0600) or less",
            path.display()
        );
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The password of the first line of a password file that matches, as libpq's
/// passwordFromFile: `hostname:port:database:username:password`, `*` matches anything, `\`
/// escapes `:` and `\`, lines starting with `#` are comments.
pub fn pgpass_lookup(
    text: &str,
    host: &str,
    port: &str,
    dbname: &str,
    user: &str,
) -> Option<String> {
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_pgpass_line(line);
        if fields.len() < 5 {
            continue;
        }
        let wanted = [host, port, dbname, user];
        if fields[..4]
            .iter()
            .zip(wanted)
            .all(|((raw, value), want)| raw == "*" || value == want)
        {
            return Some(fields[4].1.clone());
        }
    }
    None
}

/// Fields of a password-file line as (raw text, unescaped text); the fifth field is the
/// password, which ends at the next unescaped `:` or the end of the line.
fn split_pgpass_line(line: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut raw = String::new();
    let mut value = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                raw.push(c);
                if let Some(n) = chars.next() {
                    raw.push(n);
                    value.push(n);
                }
            }
            ':' => {
                fields.push((std::mem::take(&mut raw), std::mem::take(&mut value)));
                if fields.len() == 5 {
                    return fields;
                }
            }
            c => {
                raw.push(c);
                value.push(c);
            }
        }
    }
    fields.push((raw, value));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            os_user: Some("osuser".to_string()),
            home: Some(PathBuf::from("/home/osuser")),
        }
    }

    fn resolve(dbname: Option<&str>, vars: &[(&str, &str)]) -> ConnParams {
        let opts = ConnOptions {
            dbname: dbname.map(str::to_string),
            ..Default::default()
        };
        ConnParams::resolve_in(&opts, &env(vars)).unwrap()
    }

    fn tcp(host: &str, port: u16) -> Target {
        Target {
            host: Some(host.to_string()),
            hostaddr: None,
            port,
        }
    }

    #[test]
    fn defaults() {
        let p = resolve(None, &[]);
        assert_eq!(
            p.targets,
            vec![tcp(DEFAULT_SOCKET_DIR, 5432), tcp("localhost", 5432)]
        );
        assert!(p.targets[0].is_unix_socket());
        assert_eq!(p.user, "osuser");
        assert_eq!(p.dbname, "osuser");
        assert_eq!(p.password, None);
        assert_eq!(p.passfile, Some(PathBuf::from("/home/osuser/.pgpass")));
        assert_eq!(p.application_name, "pglcr");
        assert_eq!(p.sslmode, "prefer");
    }

    #[test]
    fn environment_fills_unset_fields() {
        let p = resolve(
            None,
            &[
                ("PGHOST", "/tmp/sock"),
                ("PGPORT", "5433"),
                ("PGUSER", "u"),
                ("PGPASSWORD", "pw"),
                ("PGPASSFILE", "/etc/pgpass"),
                ("PGAPPNAME", "app"),
                ("PGOPTIONS", "-c work_mem=1MB"),
                ("PGCONNECT_TIMEOUT", "1"),
                ("PGSSLMODE", "disable"),
            ],
        );
        assert_eq!(p.targets, vec![tcp("/tmp/sock", 5433)]);
        assert_eq!(p.user, "u");
        assert_eq!(p.dbname, "u", "database defaults to the user name");
        assert_eq!(p.password.as_deref(), Some("pw"));
        assert_eq!(p.passfile, Some(PathBuf::from("/etc/pgpass")));
        assert_eq!(p.application_name, "app");
        assert_eq!(p.options.as_deref(), Some("-c work_mem=1MB"));
        assert_eq!(p.connect_timeout, Some(Duration::from_secs(2)));
        assert_eq!(p.sslmode, "disable");
        let p = resolve(None, &[("PGDATABASE", "db"), ("PGHOSTADDR", "127.0.0.1")]);
        assert_eq!(p.dbname, "db");
        assert_eq!(
            p.targets,
            vec![Target {
                host: None,
                hostaddr: Some("127.0.0.1".parse().unwrap()),
                port: 5432
            }]
        );
    }

    #[test]
    fn connection_string_beats_environment() {
        let vars = [
            ("PGHOST", "envhost"),
            ("PGPORT", "1111"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGPASSWORD", "envpw"),
            ("PGSSLMODE", "require"),
        ];
        for ci in [
            "host=h1,h2 port=2222 user=u dbname=d password='p w' sslmode=allow",
            "postgresql://u:p%20w@h1:2222,h2:2222/d?sslmode=allow",
        ] {
            let p = resolve(Some(ci), &vars);
            assert_eq!(p.targets, vec![tcp("h1", 2222), tcp("h2", 2222)], "{ci}");
            assert_eq!(p.user, "u");
            assert_eq!(p.dbname, "d");
            assert_eq!(p.password.as_deref(), Some("p w"));
            assert_eq!(p.sslmode, "allow");
        }
        // a plain -d value is a database name; the rest comes from the environment
        let p = resolve(Some("mydb"), &vars[..5]);
        assert_eq!(p.dbname, "mydb");
        assert_eq!(p.user, "envuser");
        assert_eq!(p.targets, vec![tcp("envhost", 1111)]);
        // URI with a socket directory, then a host in the query string
        let p = resolve(Some("postgresql://%2Fvar%2Flib%2Fsock:5444/db"), &[]);
        assert_eq!(p.targets, vec![tcp("/var/lib/sock", 5444)]);
        assert!(p.targets[0].is_unix_socket());
        let p = resolve(Some("postgresql:///db?host=/run/x&port=7&passfile=/p"), &[]);
        assert_eq!(p.targets, vec![tcp("/run/x", 7)]);
        assert_eq!(p.passfile, Some(PathBuf::from("/p")));
    }

    #[test]
    fn options_come_between_connection_string_and_environment() {
        let opts = ConnOptions {
            dbname: Some("host=cihost".to_string()),
            host: Some("opthost".to_string()),
            port: Some("3333".to_string()),
            user: Some("optuser".to_string()),
        };
        let e = env(&[
            ("PGHOST", "envhost"),
            ("PGPORT", "1"),
            ("PGUSER", "envuser"),
        ]);
        let p = ConnParams::resolve_in(&opts, &e).unwrap();
        assert_eq!(p.targets, vec![tcp("cihost", 3333)]);
        assert_eq!(p.user, "optuser");
        assert_eq!(p.dbname, "optuser");
    }

    #[test]
    fn tls_modes_are_refused_clearly() {
        let opts = ConnOptions {
            dbname: Some("sslmode=require".to_string()),
            ..Default::default()
        };
        let err = ConnParams::resolve_in(&opts, &env(&[])).unwrap_err();
        assert!(err.to_string().contains("requires TLS"), "{err}");
        for (mode, ok) in [
            ("disable", true),
            ("allow", true),
            ("prefer", true),
            ("verify-full", false),
            ("bogus", false),
        ] {
            let r = ConnParams::resolve_in(&ConnOptions::default(), &env(&[("PGSSLMODE", mode)]));
            assert_eq!(r.is_ok(), ok, "{mode}");
        }
    }

    #[test]
    fn bad_values_are_errors() {
        let r = ConnParams::resolve_in(&ConnOptions::default(), &env(&[("PGPORT", "x")]));
        assert!(r.unwrap_err().to_string().contains("PGPORT"));
        let opts = ConnOptions {
            dbname: Some("host=a port=".to_string() + "'unterminated"),
            ..Default::default()
        };
        assert!(ConnParams::resolve_in(&opts, &env(&[])).is_err());
        let opts = ConnOptions {
            dbname: Some("nosuchkey=1".to_string()),
            ..Default::default()
        };
        let err = ConnParams::resolve_in(&opts, &env(&[])).unwrap_err();
        assert!(err.to_string().contains("nosuchkey"), "{err}");
    }

    #[test]
    fn keyword_value_parsing() {
        let pairs = parse_keyword_value(" a=1  b = 'x y\\'z' c=d\\ e ").unwrap();
        let want = [("a", "1"), ("b", "x y'z"), ("c", "d e")];
        assert_eq!(
            pairs,
            want.map(|(k, v)| (k.to_string(), v.to_string())).to_vec()
        );
        assert!(parse_keyword_value("a").is_err());
    }

    #[test]
    fn pgpass_matching() {
        let file = "\
# comment
db.example:5432:sales:alice:first
*:5433:*:bob:wild\\:card
/tmp/s\\:ock:*:*:carol:colon-host
localhost:*:*:*:local
*:*:*:*:fallback:ignored-extra
";
        let look = |h, p, d, u| pgpass_lookup(file, h, p, d, u);
        assert_eq!(
            look("db.example", "5432", "sales", "alice").as_deref(),
            Some("first")
        );
        assert_eq!(
            look("db.example", "5432", "other", "alice").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            look("any", "5433", "x", "bob").as_deref(),
            Some("wild:card")
        );
        assert_eq!(
            look("/tmp/s:ock", "1", "x", "carol").as_deref(),
            Some("colon-host")
        );
        assert_eq!(
            look("localhost", "1", "x", "dave").as_deref(),
            Some("local")
        );
        assert_eq!(pgpass_lookup("h:1:d:u", "h", "1", "d", "u"), None);
        assert_eq!(pgpass_lookup("", "h", "1", "d", "u"), None);
        // a literal "\*" is not a wildcard
        assert_eq!(pgpass_lookup("\\*:1:d:u:p", "h", "1", "d", "u"), None);
        assert_eq!(
            pgpass_lookup("\\*:1:d:u:p", "*", "1", "d", "u").as_deref(),
            Some("p")
        );
    }

    #[test]
    fn pgpass_host_follows_libpq() {
        assert_eq!(tcp(DEFAULT_SOCKET_DIR, 1).pgpass_host(), "localhost");
        assert_eq!(tcp("/tmp", 1).pgpass_host(), "/tmp");
        let a = Target {
            host: None,
            hostaddr: Some("10.0.0.1".parse().unwrap()),
            port: 1,
        };
        assert_eq!(a.pgpass_host(), "10.0.0.1");
    }

    #[test]
    fn passfile_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:pw\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_passfile(&path).is_some());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(read_passfile(&path).is_none());
        assert!(read_passfile(dir.path()).is_none());
        assert!(read_passfile(&dir.path().join("missing")).is_none());
    }

    #[test]
    fn targets_name_host_and_port() {
        assert_eq!(
            tcp("/tmp/d", 5433).to_string(),
            "host \"/tmp/d\" port 5433 (socket \"/tmp/d/.s.PGSQL.5433\")"
        );
        assert_eq!(tcp("db", 5432).to_string(), "host \"db\" port 5432");
    }
}
