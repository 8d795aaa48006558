//! A minimal replication connection: startup with `replication=database`, authentication, and
//! simple queries (IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT).
//!
//! Written here because no crate offers it: the `postgres` crate has no replication mode, and
//! only a replication connection can create a slot that exports its snapshot. Message encoding
//! and the SCRAM-SHA-256 and MD5 exchanges come from `postgres-protocol`; the connection
//! parameters (hosts, sockets, user, password file, PG* variables) from [`crate::pgconn`].

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::{self, sasl};
use postgres_protocol::message::{backend, frontend};

use crate::pgconn::{ConnError, ConnParams, Target};

#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    #[error(transparent)]
    Connect(#[from] ConnError),
    #[error("replication connection to {target}: {message}")]
    Server { target: Target, message: String },
    #[error("replication connection to {target}: {what}: {source}")]
    Io {
        target: Target,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("replication connection to {target}: {message}")]
    Protocol { target: Target, message: String },
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// One result row of a simple query: text values, `None` for NULL.
pub type Row = Vec<Option<String>>;

/// An open replication connection (`replication=database`): closed when dropped.
pub struct ReplicationConn {
    stream: Stream,
    buf: BytesMut,
    pub target: Target,
    /// `server_version_num`-style number from the server's `server_version` report.
    pub server_version_num: u32,
}

/// The server's reply to IDENTIFY_SYSTEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemIdentity {
    pub system_identifier: String,
    pub timeline: u32,
    pub xlogpos: String,
    pub dbname: Option<String>,
}

/// The server's reply to CREATE_REPLICATION_SLOT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedSlot {
    pub slot_name: String,
    pub consistent_point: String,
    pub snapshot_name: String,
}

/// `15.18 (Debian 15.18-1)` → 150018; `9.6.3` → 90603.
fn version_num(v: &str) -> u32 {
    let nums: Vec<u32> = v
        .split(|c: char| !c.is_ascii_digit())
        .take_while(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    match nums.as_slice() {
        [major, minor, ..] if *major >= 10 => major * 10000 + minor,
        [major] => major * 10000,
        [a, b, c, ..] => a * 10000 + b * 100 + c,
        [a, b] => a * 10000 + b * 100,
        [] => 0,
    }
}

fn error_fields(fields: backend::ErrorFields<'_>) -> String {
    let mut severity = String::new();
    let mut message = String::new();
    let mut detail = None;
    let mut hint = None;
    let mut fields = fields;
    while let Ok(Some(f)) = fields.next() {
        match f.type_() {
            b'S' => severity = String::from_utf8_lossy(f.value_bytes()).into_owned(),
            b'M' => message = String::from_utf8_lossy(f.value_bytes()).into_owned(),
            b'D' => detail = Some(String::from_utf8_lossy(f.value_bytes()).into_owned()),
            b'H' => hint = Some(String::from_utf8_lossy(f.value_bytes()).into_owned()),
            _ => {}
        }
    }
    let mut s = format!("{severity}:  {message}");
    if let Some(d) = detail {
        s.push_str(&format!("\nDETAIL:  {d}"));
    }
    if let Some(h) = hint {
        s.push_str(&format!("\nHINT:  {h}"));
    }
    s
}

impl ReplicationConn {
    /// Connects to the first target of `params` that accepts a replication connection.
    pub fn connect(params: &ConnParams) -> Result<ReplicationConn, ReplicationError> {
        let mut failures = Vec::new();
        for target in &params.targets {
            match Self::connect_one(params, target) {
                Ok(c) => return Ok(c),
                Err(e) => failures.push((target.clone(), e.to_string())),
            }
        }
        Err(ConnError::Connect {
            user: params.user.clone(),
            dbname: params.dbname.clone(),
            failures,
        }
        .into())
    }

    fn open(params: &ConnParams, target: &Target) -> std::io::Result<Stream> {
        let timeout = params.connect_timeout;
        if target.is_unix_socket() {
            let dir = target.host.as_deref().unwrap_or_default();
            let path = format!("{}/.s.PGSQL.{}", dir.trim_end_matches('/'), target.port);
            return Ok(Stream::Unix(UnixStream::connect(path)?));
        }
        let addrs: Vec<std::net::SocketAddr> = match (&target.hostaddr, &target.host) {
            (Some(a), _) => vec![(*a, target.port).into()],
            (None, Some(h)) => {
                std::net::ToSocketAddrs::to_socket_addrs(&(h.as_str(), target.port))?.collect()
            }
            (None, None) => {
                std::net::ToSocketAddrs::to_socket_addrs(&("localhost", target.port))?.collect()
            }
        };
        let mut last = None;
        for a in addrs {
            let r = match timeout {
                Some(t) => TcpStream::connect_timeout(&a, t),
                None => TcpStream::connect(a),
            };
            match r {
                Ok(s) => {
                    s.set_nodelay(true)?;
                    return Ok(Stream::Tcp(s));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("host name resolved to no address")))
    }

    fn connect_one(
        params: &ConnParams,
        target: &Target,
    ) -> Result<ReplicationConn, ReplicationError> {
        let io = |what| {
            let target = target.clone();
            move |source| ReplicationError::Io {
                target,
                what,
                source,
            }
        };
        let stream = Self::open(params, target).map_err(io("could not connect"))?;
        let mut conn = ReplicationConn {
            stream,
            buf: BytesMut::with_capacity(8192),
            target: target.clone(),
            server_version_num: 0,
        };
        let mut startup: Vec<(&str, &str)> = vec![
            ("user", &params.user),
            ("database", &params.dbname),
            ("replication", "database"),
            ("application_name", &params.application_name),
            ("client_encoding", "UTF8"),
        ];
        if let Some(o) = &params.options {
            startup.push(("options", o));
        }
        let mut out = BytesMut::new();
        frontend::startup_message(startup, &mut out).map_err(io("could not encode startup"))?;
        conn.send(&out)?;
        let (password, _) = params.password_for(target);
        let no_password = || ReplicationError::Protocol {
            target: target.clone(),
            message: format!(
                "the server requested password authentication for user \"{}\" but no password \
                 was supplied (connection string, PGPASSWORD, or password file)",
                params.user
            ),
        };
        let mut scram: Option<sasl::ScramSha256> = None;
        loop {
            let msg = conn.receive()?;
            let mut out = BytesMut::new();
            match msg {
                backend::Message::AuthenticationOk => {}
                backend::Message::AuthenticationCleartextPassword => {
                    let p = password.as_deref().ok_or_else(no_password)?;
                    frontend::password_message(p.as_bytes(), &mut out)
                        .map_err(io("could not encode password"))?;
                }
                backend::Message::AuthenticationMd5Password(body) => {
                    let p = password.as_deref().ok_or_else(no_password)?;
                    let hash =
                        authentication::md5_hash(params.user.as_bytes(), p.as_bytes(), body.salt());
                    frontend::password_message(hash.as_bytes(), &mut out)
                        .map_err(io("could not encode password"))?;
                }
                backend::Message::AuthenticationSasl(body) => {
                    let mut mechs = body.mechanisms();
                    let mut found = false;
                    while let Some(m) = mechs.next().map_err(io("bad SASL mechanisms"))? {
                        found |= m == sasl::SCRAM_SHA_256;
                    }
                    if !found {
                        return Err(conn.protocol("the server offers no SASL mechanism pglcr supports (SCRAM-SHA-256 without channel binding)"));
                    }
                    let p = password.as_deref().ok_or_else(no_password)?;
                    let s =
                        sasl::ScramSha256::new(p.as_bytes(), sasl::ChannelBinding::unsupported());
                    frontend::sasl_initial_response(sasl::SCRAM_SHA_256, s.message(), &mut out)
                        .map_err(io("could not encode SASL"))?;
                    scram = Some(s);
                }
                backend::Message::AuthenticationSaslContinue(body) => {
                    let s = scram
                        .as_mut()
                        .ok_or_else(|| conn.protocol("unexpected SASL continuation"))?;
                    s.update(body.data())
                        .map_err(io("SCRAM authentication failed"))?;
                    frontend::sasl_response(s.message(), &mut out)
                        .map_err(io("could not encode SASL"))?;
                }
                backend::Message::AuthenticationSaslFinal(body) => {
                    let s = scram
                        .as_mut()
                        .ok_or_else(|| conn.protocol("unexpected SASL final message"))?;
                    s.finish(body.data())
                        .map_err(io("the server's SCRAM signature is invalid"))?;
                }
                backend::Message::ParameterStatus(p) => {
                    if p.name().ok() == Some("server_version") {
                        conn.server_version_num = version_num(p.value().unwrap_or(""));
                    }
                }
                backend::Message::BackendKeyData(_) | backend::Message::NoticeResponse(_) => {}
                backend::Message::ReadyForQuery(_) => return Ok(conn),
                backend::Message::ErrorResponse(e) => {
                    return Err(ReplicationError::Server {
                        target: target.clone(),
                        message: error_fields(e.fields()),
                    })
                }
                _ => {
                    return Err(conn.protocol(
                        "the server asked for an authentication method pglcr does not support \
                         (supported: trust, password, md5, scram-sha-256)",
                    ))
                }
            }
            if !out.is_empty() {
                conn.send(&out)?;
            }
        }
    }

    fn protocol(&self, message: &str) -> ReplicationError {
        ReplicationError::Protocol {
            target: self.target.clone(),
            message: message.to_string(),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), ReplicationError> {
        self.stream
            .write_all(bytes)
            .and_then(|_| self.stream.flush())
            .map_err(|source| ReplicationError::Io {
                target: self.target.clone(),
                what: "could not send",
                source,
            })
    }

    fn receive(&mut self) -> Result<backend::Message, ReplicationError> {
        loop {
            let parsed =
                backend::Message::parse(&mut self.buf).map_err(|source| ReplicationError::Io {
                    target: self.target.clone(),
                    what: "invalid message from the server",
                    source,
                })?;
            if let Some(m) = parsed {
                return Ok(m);
            }
            let mut chunk = [0u8; 8192];
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|source| ReplicationError::Io {
                    target: self.target.clone(),
                    what: "could not receive",
                    source,
                })?;
            if n == 0 {
                return Err(self.protocol("the server closed the connection unexpectedly"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Runs one command with the simple query protocol and returns its rows.
    pub fn simple_query(&mut self, sql: &str) -> Result<Vec<Row>, ReplicationError> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out).map_err(|source| ReplicationError::Io {
            target: self.target.clone(),
            what: "could not encode query",
            source,
        })?;
        self.send(&out)?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            match self.receive()? {
                backend::Message::DataRow(row) => {
                    let buf = row.buffer();
                    let mut values = Vec::new();
                    let mut ranges = row.ranges();
                    while let Some(r) = ranges
                        .next()
                        .map_err(|_| self.protocol("malformed data row"))?
                    {
                        values.push(r.map(|r| String::from_utf8_lossy(&buf[r]).into_owned()));
                    }
                    rows.push(values);
                }
                backend::Message::ErrorResponse(e) => error = Some(error_fields(e.fields())),
                backend::Message::ReadyForQuery(_) => break,
                backend::Message::CopyInResponse(_) | backend::Message::CopyOutResponse(_) => {
                    return Err(self.protocol("unexpected COPY from a replication command"))
                }
                _ => {}
            }
        }
        match error {
            Some(message) => Err(ReplicationError::Server {
                target: self.target.clone(),
                message,
            }),
            None => Ok(rows),
        }
    }

    pub fn identify_system(&mut self) -> Result<SystemIdentity, ReplicationError> {
        let rows = self.simple_query("IDENTIFY_SYSTEM")?;
        match rows.as_slice() {
            [r] if r.len() >= 4 => Ok(SystemIdentity {
                system_identifier: r[0].clone().unwrap_or_default(),
                timeline: r[1].as_deref().and_then(|t| t.parse().ok()).unwrap_or(0),
                xlogpos: r[2].clone().unwrap_or_default(),
                dbname: r[3].clone(),
            }),
            _ => Err(self.protocol("unexpected reply to IDENTIFY_SYSTEM")),
        }
    }

    /// Creates a temporary logical slot (dropped when this connection closes) that exports
    /// its snapshot. `pgoutput` is built into the server, so no extra plugin is needed; the
    /// slot is never read from.
    pub fn create_exported_slot(&mut self, name: &str) -> Result<CreatedSlot, ReplicationError> {
        // PostgreSQL 15 introduced the parenthesised option list; older servers only know
        // the EXPORT_SNAPSHOT keyword.
        let sql = if self.server_version_num >= 150000 {
            format!("CREATE_REPLICATION_SLOT {name} TEMPORARY LOGICAL pgoutput (SNAPSHOT 'export')")
        } else {
            format!("CREATE_REPLICATION_SLOT {name} TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT")
        };
        let rows = self.simple_query(&sql)?;
        match rows.as_slice() {
            [r] if r.len() >= 3 => match (&r[0], &r[1], &r[2]) {
                (Some(slot), Some(point), Some(snapshot)) => Ok(CreatedSlot {
                    slot_name: slot.clone(),
                    consistent_point: point.clone(),
                    snapshot_name: snapshot.clone(),
                }),
                _ => Err(self.protocol("CREATE_REPLICATION_SLOT returned no snapshot")),
            },
            _ => Err(self.protocol("unexpected reply to CREATE_REPLICATION_SLOT")),
        }
    }

    /// Ends the connection politely; the temporary slot and the snapshot go with it.
    pub fn close(mut self) {
        let mut out = BytesMut::new();
        frontend::terminate(&mut out);
        let _ = self.send(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::version_num;

    #[test]
    fn server_version_numbers() {
        assert_eq!(version_num("15.18 (Debian 15.18-1.pgdg120+1)"), 150018);
        assert_eq!(version_num("18.0"), 180000);
        assert_eq!(version_num("16beta1"), 160000);
        assert_eq!(version_num("9.6.24"), 90624);
    }
}
