//! A destination on another host, over the system's OpenSSH client: `ssh://[user@]host[:port]/path`.
//!
//! The far side needs nothing but a POSIX shell and standard tools (`dd` or `head`,
//! `sha256sum` or `openssl`, `wc`, `mv`, `sync`, as GNU coreutils or BusyBox have them): each
//! transfer job keeps one small `sh -c` script running there, fed requests and file bytes on
//! its standard input, that writes each file to a temporary name, checks its size and SHA-256
//! against what the sender computed, fsyncs it (`sync FILE`, or a global `sync` where that is
//! not supported) and renames it into place. So a file appears complete or not at all. The
//! directory is fsynced once for a batch of files, before the sender records them in the
//! manifest and acknowledges them (see [`Transport`]). One long-lived script per job rather
//! than one per file, because every ssh session pays for a login shell on the far side; the
//! first one also reads the manifest when the run starts.
//!
//! The checksum is taken of the file as written, read back from the page cache: cheaper than
//! copying the stream through `tee` into a checksum pipe, and it checks the file itself. While
//! the far side checks and stores one file, the sender already sends the next one ([`Sender`]).
//!
//! Each receiving script has its own SSH connection, so that `--jobs` spreads encryption over
//! several ssh processes. Writing to a dead ssh raises SIGPIPE: the process must ignore it
//! (`pglcr ship` does) to see the error instead. The cipher is left to the operator's ssh
//! configuration; on CPUs with AES instructions `-c aes128-gcm@openssh.com` takes about half
//! the CPU of the default chacha20-poly1305 (`benches/compare-ship` shows both).

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::Mutex;
use std::time::Duration;

use super::manifest::{sha256_hex, MANIFEST_FILE};
use super::transport::{Pacer, PutOutcome, Sender, Transport, TransportError};

/// Where an `ssh://` destination points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// Absolute, or relative to the login directory (written `/~/path` in the URL, as git does).
    pub path: String,
}

impl SshTarget {
    /// Parses `ssh://[user@]host[:port]/path`; None when `to` is not an ssh:// URL at all.
    pub fn parse(to: &str) -> Option<Result<SshTarget, String>> {
        let rest = to.strip_prefix("ssh://")?;
        Some(Self::parse_rest(rest).map_err(|why| {
            format!("invalid destination \"{to}\": {why}; expected ssh://[user@]host[:port]/path")
        }))
    }

    fn parse_rest(rest: &str) -> Result<SshTarget, String> {
        let (authority, path) = rest
            .split_once('/')
            .ok_or("the URL has no path after the host")?;
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
            Some(_) => return Err("empty user name".into()),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or("unterminated [ in the host")?;
            (h, after.strip_prefix(':'))
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() || host.starts_with('-') {
            return Err("invalid host name".into());
        }
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .map_err(|_| format!("invalid port \"{p}\""))
            })
            .transpose()?;
        let path = match path {
            "~" => ".".to_string(),
            p => match p.strip_prefix("~/") {
                Some(rel) if !rel.is_empty() => rel.to_string(),
                Some(_) => ".".to_string(),
                None if !p.is_empty() => format!("/{p}"),
                None => return Err("empty path".into()),
            },
        };
        Ok(SshTarget {
            user,
            host: host.to_string(),
            port,
            path,
        })
    }
}

/// Receives files, one after the other, as long as the sender sends them (see the module
/// comment): a request line `NAME SHA256 SIZE keep|replace|append`, then SIZE bytes; the
/// answer is one line: `stored`, `already-there`, `conflict SHA256` (another file is there),
/// `appended` (`append`: the bytes are added to the end of the existing file NAME after a
/// directory fsync, for the manifest), or a reason after which the session ends
/// (`damaged: …` for bytes damaged or cut off in transit).
/// An `open - 0 -` request removes temporary files of interrupted transfers and answers
/// `manifest SIZE` followed by the SIZE bytes of the manifest, or `no-manifest`.
/// `stored` means the file is fsynced and renamed into place; the rename is durable once a
/// `sync-directory` request (answered `synced`) has fsynced the directory, which the sender
/// does once for a batch of files, before it records any of them.
///
/// Another run's `open` can remove a temporary file while it is checked or stored (the ssh of
/// a killed run lives on and delivers the requests it was given, late): that is answered as
/// damage in transit, so the sender sends the file again.
///
/// A file is written by one process (`dd`, else `head -c`) and then checksummed from the page
/// cache, rather than copied through `tee` into a checksum pipe: two fewer copies of every
/// byte on the far side. Checking, fsyncing and renaming a file runs in the background while
/// the next file arrives, so that the sender never waits for them; only one such job runs at
/// a time, so answers come in request order. `read` takes the request line byte by byte, as
/// POSIX requires of it on a pipe, and `dd iflag=fullblock` and `head -c` read exactly SIZE
/// bytes, so requests and data never run into each other.
const RECEIVE_SCRIPT: &str = r#"cd -- "$1" || { echo "no such directory"; exit 10; }
if [ "$(printf abcd | dd bs=2 count=1 iflag=fullblock status=none 2>&1)" = ab ]; then
  receive() {
    dd bs=1048576 count=$(($1 / 1048576)) iflag=fullblock status=none || return
    if [ $(($1 % 1048576)) -gt 0 ]; then dd bs=$(($1 % 1048576)) count=1 iflag=fullblock status=none; fi
  }
else
  receive() { head -c "$1"; }
fi
check() {
  if ! got=$(sum256 < "$4"); then
    [ -e "$4" ] || { echo "damaged: $4 was removed before it was checked"; exit 12; }
    echo "could not read back $1"; exit 11
  fi
  got=${got%% *}
  [ "$got" = "$2" ] && return
  have=$(wc -c < "$4") || { echo "could not read back $1"; exit 11; }
  have=$((have))
  if [ "$have" -ne "$3" ]; then echo "damaged: received $have bytes of $1, expected $3"
  else echo "damaged: received $1 with SHA-256 $got, expected $2"; fi
  exit 12
}
store() {
  own=$5
  trap 'rm -f -- "$own"' EXIT
  trap 'exit 1' HUP INT TERM PIPE
  check "$1" "$2" "$3" "$5"
  if [ "$4" = keep ] && [ -e "$1" ]; then
    old=$(sum256 < "$1") || { echo "could not read $1"; exit 11; }
    old=${old%% *}
    if [ "$old" = "$2" ]; then echo already-there; else echo "conflict $old"; fi
    exit 0
  fi
  { sync -- "$5" 2>/dev/null || sync; } || { echo "could not fsync $1"; exit 11; }
  if ! mv -f -- "$5" "$1"; then
    [ -e "$5" ] || { echo "damaged: $5 was removed before it was renamed to $1"; exit 12; }
    echo "could not rename $5 to $1"; exit 11
  fi
  echo stored
}
tmp=
job=
n=0
trap 'if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi' EXIT
trap 'exit 1' HUP INT TERM PIPE
settle() { if [ -n "$job" ]; then wait "$job" || exit; job=; fi; }
while read -r name sum size mode; do
  if [ "$name" = open ]; then
    for f in .????????????????????????????????????????.*.tmp .pglcr.manifest.*.tmp; do
      if [ -f "$f" ]; then rm -f -- "$f" || { echo "could not remove $f"; exit 11; }; fi
    done
    if [ -f pglcr.manifest ]; then
      size=$(wc -c < pglcr.manifest) || { echo "could not read pglcr.manifest"; exit 11; }
      echo "manifest $((size))"
      cat pglcr.manifest || exit 11
    else
      echo no-manifest
    fi
    continue
  fi
  if [ "$name" = sync-directory ]; then
    settle
    { sync -- . 2>/dev/null || sync; } || { echo "could not fsync the directory"; exit 11; }
    echo synced
    continue
  fi
  n=$((n + 1))
  tmp=".$name.$$.$n.tmp"
  receive "$size" > "$tmp"
  received=$?
  settle
  [ "$received" -eq 0 ] || { echo "could not receive $name"; exit 11; }
  if [ "$mode" = append ]; then
    check "$name" "$sum" "$size" "$tmp"
    [ -f "$name" ] || { echo "no $name to append to"; exit 11; }
    { sync -- . 2>/dev/null || sync; } || { echo "could not fsync the directory"; exit 11; }
    cat -- "$tmp" >> "$name" || { echo "could not append to $name"; exit 11; }
    { sync -- "$name" 2>/dev/null || sync; } || { echo "could not fsync $name"; exit 11; }
    rm -f -- "$tmp"; tmp=
    echo appended
    continue
  fi
  ( store "$name" "$sum" "$size" "$mode" "$tmp" ) &
  job=$!
  tmp=
done
settle
"#;

/// Defines `sum256`, printing the SHA-256 of its standard input first on a line: `openssl dgst`
/// where it works, because it uses the CPU's SHA instructions and the coreutils `sha256sum` is
/// several times slower, else `sha256sum`. Prepended to the scripts that checksum.
const SUM256_FUNCTION: &str = r#"probe=$(printf abc | openssl dgst -sha256 -r 2>/dev/null)
if [ "${probe%% *}" = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad ]; then
  sum256() { openssl dgst -sha256 -r; }
else
  sum256() { sha256sum; }
fi
"#;

/// Prints `sha256  name` for every LCR file, as sha256sum does.
const CHECKSUMS_SCRIPT: &str = r#"cd -- "$1" || exit 10
for f in ????????????????????????????????????????; do
  if [ -f "$f" ]; then
    got=$(sum256 < "$f") || exit 11
    echo "${got%% *}  $f"
  fi
done
exit 0
"#;

pub struct SshTransport {
    target: SshTarget,
    /// The ssh program and the operator's options (`--ssh-command`, `PGLCR_SSH`).
    ssh: Vec<String>,
    /// Receiving sessions not in use right now.
    idle: Mutex<Vec<Session>>,
}

/// One remote shell running [`RECEIVE_SCRIPT`].
struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// What ssh and the far side said on stderr, read by a thread so that it never blocks
    /// them, and sent once ssh has closed it.
    stderr: Receiver<String>,
}

impl Session {
    /// The far side's one-line answer to a request; None when the session broke.
    fn answer(&mut self) -> Option<String> {
        let mut answer = String::new();
        match self.stdout.read_line(&mut answer) {
            Ok(n) if n > 0 => Some(answer.trim_end().to_string()),
            _ => None,
        }
    }

    /// Ends the session; its exit status and stderr say why a request failed.
    fn finish(mut self) -> (Option<i32>, String) {
        drop(self.stdin);
        let status = self.child.wait().ok().and_then(|s| s.code());
        // Bounded: a process ssh started (a ProxyCommand) may hold the pipe open.
        let text = self
            .stderr
            .recv_timeout(Duration::from_secs(2))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        (status, text)
    }
}

impl SshTransport {
    /// `ssh_command` is split like a shell would (`ssh -i key -o Option=value`).
    pub fn new(target: SshTarget, ssh_command: &str) -> Result<SshTransport, String> {
        let ssh = shlex::split(ssh_command)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| format!("invalid ssh command \"{ssh_command}\""))?;
        Ok(SshTransport {
            target,
            ssh,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn describe(&self) -> String {
        let user = self
            .target
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!("{user}{}:{}", self.target.host, self.target.path)
    }

    /// ssh with the operator's options first (OpenSSH takes the first value given for an
    /// option, so theirs win), then ours: never prompt, notice a dead link.
    fn ssh(&self) -> Command {
        let mut c = Command::new(&self.ssh[0]);
        c.args(&self.ssh[1..]);
        for opt in [
            "BatchMode=yes",
            "ConnectTimeout=20",
            "ServerAliveInterval=15",
            "ServerAliveCountMax=4",
        ] {
            c.arg("-o").arg(opt);
        }
        if let Some(port) = self.target.port {
            c.arg("-p").arg(port.to_string());
        }
        if let Some(user) = &self.target.user {
            c.arg("-l").arg(user);
        }
        c
    }

    /// ssh running `script` with `args` on the far side, `sum256` defined for it.
    fn remote(&self, script: &str, args: &[&str]) -> Command {
        let mut cmd = format!(
            "sh -c {} pglcr",
            quote(&format!("{SUM256_FUNCTION}{script}"))
        );
        for a in args {
            cmd.push(' ');
            cmd.push_str(&quote(a));
        }
        let mut c = self.ssh();
        c.args(["-o", "ControlMaster=no"])
            .arg(&self.target.host)
            .arg(cmd);
        c
    }

    fn spawn_failed(&self, e: std::io::Error) -> TransportError {
        TransportError::Fatal(format!("could not run \"{}\": {e}", self.ssh[0]))
    }

    /// What a failed ssh exit status means: 255 is ssh's own failure (connection), worth a
    /// retry; 12 is data damaged in transit; anything else is the far side refusing.
    fn failure(&self, what: &str, status: Option<i32>, detail: &str) -> TransportError {
        let dest = self.describe();
        match status {
            Some(255) => {
                TransportError::Transient(format!("{what} on {dest}: ssh failed: {detail}"))
            }
            Some(12) => TransportError::Transient(format!("{what} on {dest}: {detail}")),
            Some(10) => TransportError::Fatal(format!("{what}: no directory {dest}: {detail}")),
            Some(code) => TransportError::Fatal(format!(
                "{what} on {dest} failed (exit status {code}): {detail}"
            )),
            None => TransportError::Fatal(format!("{what} on {dest}: ssh was killed by a signal")),
        }
    }

    /// Runs a one-off script and returns its standard output.
    fn run_once(&self, what: &str, script: &str) -> Result<String, TransportError> {
        let out = self
            .remote(script, &[&self.target.path])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.spawn_failed(e))?;
        match out.status.code() {
            Some(0) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
            code => Err(self.failure(what, code, String::from_utf8_lossy(&out.stderr).trim())),
        }
    }

    fn open_session(&self) -> Result<Session, TransportError> {
        let mut child = self
            .remote(RECEIVE_SCRIPT, &[&self.target.path])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_failed(e))?;
        let (sink, stderr) = std::sync::mpsc::channel();
        let mut pipe = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            let _ = sink.send(text);
        });
        Ok(Session {
            stdin: child.stdin.take().expect("piped stdin"),
            stdout: BufReader::new(child.stdout.take().expect("piped stdout")),
            child,
            stderr,
        })
    }

    /// Sends one file over `session`; None when the session broke (its status says why).
    fn send(
        session: &mut Session,
        name: &str,
        bytes: &[u8],
        sha256: &str,
        mode: &str,
        pacer: &Pacer,
    ) -> Option<()> {
        let request = format!("{name} {sha256} {} {mode}\n", bytes.len());
        session.stdin.write_all(request.as_bytes()).ok()?;
        for part in bytes.chunks(pacer.chunk()) {
            pacer.take(part.len());
            session.stdin.write_all(part).ok()?;
        }
        session.stdin.flush().ok()
    }

    /// An idle session, or a new one.
    fn session(&self) -> Result<Session, TransportError> {
        let idle = self.idle.lock().expect("session pool").pop();
        match idle {
            Some(s) => Ok(s),
            None => self.open_session(),
        }
    }

    /// Runs one request on an idle session, or a new one, and returns its answer with the
    /// session; a session that broke is ended, its exit status saying why.
    fn ask(
        &self,
        what: &str,
        request: impl FnOnce(&mut Session) -> Option<String>,
    ) -> Result<(Session, String), TransportError> {
        let mut session = self.session()?;
        match request(&mut session) {
            Some(answer) => Ok((session, answer)),
            None => {
                let (status, stderr) = session.finish();
                Err(self.failure(what, status, &stderr))
            }
        }
    }

    /// Ends a session whose far side answered other than expected: its answer says why.
    fn unexpected(&self, what: &str, session: Session, answer: &str) -> TransportError {
        let (status, _) = session.finish();
        self.failure(what, status, answer)
    }

    fn give_back(&self, session: Session) {
        self.idle.lock().expect("session pool").push(session);
    }

    /// Fsyncs the directory, making the renames of every file stored before durable.
    fn sync_directory(&self) -> Result<(), TransportError> {
        let what = "syncing the directory";
        let (session, answer) = self.ask(what, |s| {
            s.stdin.write_all(b"sync-directory - 0 -\n").ok()?;
            s.stdin.flush().ok()?;
            s.answer()
        })?;
        if answer != "synced" {
            return Err(self.unexpected(what, session, &answer));
        }
        self.give_back(session);
        Ok(())
    }
}

impl Drop for SshTransport {
    fn drop(&mut self) {
        if let Ok(idle) = self.idle.get_mut() {
            for session in idle.drain(..) {
                session.finish();
            }
        }
    }
}

fn quote(s: &str) -> String {
    shlex::try_quote(s).expect("no NUL bytes").into_owned()
}

impl Transport for SshTransport {
    fn open(&self) -> Result<Option<String>, TransportError> {
        // Over a receiving session, which the first transfer then uses: one connection fewer
        // to set up before the bytes flow.
        let what = "reading the manifest";
        let (mut session, answer) = self.ask(what, |s| {
            s.stdin.write_all(b"open - 0 -\n").ok()?;
            s.stdin.flush().ok()?;
            s.answer()
        })?;
        let manifest = match answer.strip_prefix("manifest ").map(str::parse::<usize>) {
            Some(Ok(size)) => {
                let mut text = vec![0; size];
                if session.stdout.read_exact(&mut text).is_err() {
                    let (status, stderr) = session.finish();
                    return Err(self.failure(what, status, &stderr));
                }
                Some(String::from_utf8_lossy(&text).into_owned())
            }
            _ if answer == "no-manifest" => None,
            _ => return Err(self.unexpected(what, session, &answer)),
        };
        self.give_back(session);
        Ok(manifest.filter(|m| !m.is_empty()))
    }

    fn put(
        &self,
        name: &str,
        bytes: &[u8],
        sha256: &str,
        replace: bool,
        pacer: &Pacer,
    ) -> Result<PutOutcome, TransportError> {
        let what = format!("storing {name}");
        let mode = if replace { "replace" } else { "keep" };
        let (session, answer) = self.ask(&what, |s| {
            Self::send(s, name, bytes, sha256, mode, pacer)?;
            s.answer()
        })?;
        let outcome = match answer.as_str() {
            "stored" => PutOutcome::Stored,
            "already-there" => PutOutcome::AlreadyThere,
            other => {
                if let Some(sum) = other.strip_prefix("conflict ") {
                    self.give_back(session);
                    return Err(TransportError::Conflict {
                        sha256: sum.to_string(),
                    });
                }
                return Err(self.unexpected(&what, session, other));
            }
        };
        self.give_back(session);
        Ok(outcome)
    }

    fn write_manifest(&self, text: &str) -> Result<(), TransportError> {
        let sum = sha256_hex(text.as_bytes());
        self.put(
            MANIFEST_FILE,
            text.as_bytes(),
            &sum,
            true,
            &Pacer::new(None),
        )?;
        self.sync_directory()
    }

    fn append_manifest(&self, lines: &str) -> Result<(), TransportError> {
        let what = "appending to the manifest";
        let (session, answer) = self.ask(what, |s| {
            let sum = sha256_hex(lines.as_bytes());
            let pacer = Pacer::new(None);
            Self::send(s, MANIFEST_FILE, lines.as_bytes(), &sum, "append", &pacer)?;
            s.answer()
        })?;
        if answer != "appended" {
            return Err(self.unexpected(what, session, &answer));
        }
        self.give_back(session);
        Ok(())
    }

    fn checksums(&self) -> Result<BTreeMap<String, String>, TransportError> {
        let out = self.run_once("checksumming LCR files", CHECKSUMS_SCRIPT)?;
        let mut sums = BTreeMap::new();
        for line in out.lines() {
            let Some((sum, name)) = line.split_once("  ") else {
                return Err(TransportError::Fatal(format!(
                    "unexpected sha256sum output from {}: \"{line}\"",
                    self.describe()
                )));
            };
            if crate::lcr::LcrName::parse(name).is_some() {
                sums.insert(name.to_string(), sum.to_string());
            }
        }
        Ok(sums)
    }

    fn checks_sha256(&self) -> bool {
        true
    }

    fn sender(&self) -> Box<dyn Sender + '_> {
        Box::new(SshSender {
            transport: self,
            session: None,
            unanswered: VecDeque::new(),
        })
    }
}

/// A [`Sender`] over one receiving session, taken when the first file goes out and given
/// back once every file sent over it has been answered.
struct SshSender<'a> {
    transport: &'a SshTransport,
    session: Option<Session>,
    /// The files sent and not answered yet, oldest first.
    unanswered: VecDeque<String>,
}

impl SshSender<'_> {
    /// Ends the broken session: `answer`, or its exit status and stderr, say why.
    fn broken(&mut self, what: &str, answer: Option<&str>) -> TransportError {
        let Some(session) = self.session.take() else {
            return TransportError::Fatal(format!("{what}: no session"));
        };
        let (status, stderr) = session.finish();
        self.transport
            .failure(what, status, answer.unwrap_or(&stderr))
    }
}

impl Sender for SshSender<'_> {
    fn send(
        &mut self,
        name: &str,
        bytes: &[u8],
        sha256: &str,
        pacer: &Pacer,
    ) -> Result<(), TransportError> {
        let session = match &mut self.session {
            Some(s) => s,
            None => self.session.insert(self.transport.session()?),
        };
        self.unanswered.push_back(name.to_string());
        match SshTransport::send(session, name, bytes, sha256, "keep", pacer) {
            Some(()) => Ok(()),
            None => Err(self.broken(&format!("storing {name}"), None)),
        }
    }

    fn outcome(&mut self) -> Result<PutOutcome, TransportError> {
        let name = self.unanswered.pop_front().unwrap_or_default();
        let what = format!("storing {name}");
        let answer = self.session.as_mut().and_then(Session::answer);
        match answer.as_deref() {
            Some("stored") => Ok(PutOutcome::Stored),
            Some("already-there") => Ok(PutOutcome::AlreadyThere),
            Some(other) => match other.strip_prefix("conflict ") {
                Some(sum) => Err(TransportError::Conflict {
                    sha256: sum.to_string(),
                }),
                None => Err(self.broken(&what, Some(other))),
            },
            None => Err(self.broken(&what, None)),
        }
    }
}

impl Drop for SshSender<'_> {
    /// A session with files still unanswered is ended: their answers would confuse the next
    /// user of the session.
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            if self.unanswered.is_empty() {
                self.transport.give_back(session);
            } else {
                session.finish();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = |s| SshTarget::parse(s).unwrap();
        assert_eq!(
            t("ssh://backup@dr1.example.com:2222/srv/lcr").unwrap(),
            SshTarget {
                user: Some("backup".into()),
                host: "dr1.example.com".into(),
                port: Some(2222),
                path: "/srv/lcr".into()
            }
        );
        let v6 = t("ssh://[::1]:22/~/lcr").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.port, v6.path.as_str()),
            ("::1", Some(22), "lcr")
        );
        assert_eq!(t("ssh://h/~").unwrap().path, ".");
        assert!(SshTarget::parse("/srv/lcr").is_none());
        assert!(t("ssh://host").is_err());
        assert!(t("ssh://host:x/p").is_err());
        assert!(t("ssh://-oProxyCommand=x/p").is_err());
    }
}
