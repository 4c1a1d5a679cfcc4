//! Python servers started by deployment files: `uvicorn app.main:app --host 0.0.0.0` in a Dockerfile's
//! `CMD`, `ENTRYPOINT` or `RUN`, a Procfile's process line or a compose file's `command:` (shell or
//! JSON-array form), and gunicorn, hypercorn and `fastapi run` likewise. A FastAPI service is most
//! often served this way rather than by `uvicorn.run(..)` in its code, so these lines are its
//! listeners. Read line by line, like the environment settings of `deploy.rs`.

use super::deploy::deploy_kind;
use crate::source::{Loc, SourceFile};

/// One server command line.
#[derive(Debug, Clone)]
pub struct Launch {
    pub server: &'static str,
    /// The application: `package.module:attr`, or a file (`app/main.py`) for `fastapi run`.
    pub target: String,
    /// Addresses it binds: host (`None` when a variable gives it) and port. Empty: the server's default.
    pub binds: Vec<(Option<String>, Option<i128>)>,
    /// A Unix socket or an inherited descriptor instead of a TCP address.
    pub local: bool,
    /// A certificate or key file is given.
    pub tls: bool,
    /// The server writes an access log line per request.
    pub access_log: bool,
    /// gunicorn's `-c` file, when given.
    pub config: Option<String>,
    pub loc: Loc,
}

impl Launch {
    /// The address the server binds when the command line names none.
    pub fn default_bind(&self) -> (String, i128) {
        match self.server {
            // `fastapi run` is the production command: it listens on every interface.
            "fastapi run" => ("0.0.0.0".into(), 8000),
            _ => ("127.0.0.1".into(), 8000),
        }
    }
}

/// Every server command line of a deployment file or Procfile.
pub fn launches(file: &SourceFile, id: u32) -> Vec<Launch> {
    let name = file
        .path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if deploy_kind(&name).is_none() {
        return vec![];
    }
    let mut out = vec![];
    let mut start = 0;
    for line in file.text.split_inclusive('\n') {
        let end = start + line.trim_end().len();
        let words = words(line);
        if let Some((launch, from)) = parse(&words) {
            let at = line.find(from).map_or(start, |o| start + o);
            out.push(Launch {
                loc: Loc::new(id, file.span_of_bytes(at, end.max(at))),
                ..launch
            });
        }
        start += line.len();
    }
    out
}

/// The words of a command line: the strings of a JSON array (`CMD ["uvicorn", "app:app"]`), else the
/// line split at blanks with quotes removed.
fn words(line: &str) -> Vec<String> {
    let t = line.trim();
    if let (Some(open), true) = (t.find('['), t.ends_with(']')) {
        let inner = &t[open + 1..t.len() - 1];
        let quoted: Vec<String> = inner
            .split(',')
            .map(|w| w.trim().trim_matches(['"', '\'']).to_string())
            .collect();
        if quoted.len() > 1 && inner.contains('"') {
            // `["sh", "-c", "uvicorn app:app --host 0.0.0.0"]`: the shell's command line.
            return quoted.iter().flat_map(|w| split_blanks(w)).collect();
        }
    }
    split_blanks(t)
}

fn split_blanks(s: &str) -> Vec<String> {
    s.split_whitespace()
        .map(|w| w.trim_matches(['"', '\'']).to_string())
        .collect()
}

/// The server command in a line's words, and the word it starts at.
fn parse(words: &[String]) -> Option<(Launch, &str)> {
    let (i, server) = words.iter().enumerate().find_map(|(i, w)| {
        // In command position: `pip install uvicorn` names a package, not a server.
        let command = i == 0
            || words[i - 1].ends_with(':')
            || COMMAND_BEFORE.contains(&words[i - 1].as_str());
        if !command {
            return None;
        }
        let base = w.rsplit('/').next().unwrap_or(w);
        match base {
            "uvicorn" => Some((i, "uvicorn")),
            "gunicorn" => Some((i, "gunicorn")),
            "hypercorn" => Some((i, "hypercorn")),
            "fastapi" if words.get(i + 1).is_some_and(|n| n == "run") => Some((i, "fastapi run")),
            "fastapi" if words.get(i + 1).is_some_and(|n| n == "dev") => Some((i, "fastapi dev")),
            _ => None,
        }
    })?;
    let skip = if server.starts_with("fastapi") { 2 } else { 1 };
    let args: Vec<&str> = words[i + skip..]
        .iter()
        .map(String::as_str)
        .take_while(|w| !matches!(*w, "&&" | "||" | ";" | "|" | "&"))
        .collect();
    let mut launch = Launch {
        server,
        target: String::new(),
        binds: vec![],
        local: false,
        tls: false,
        access_log: server == "uvicorn" || server.starts_with("fastapi"),
        config: None,
        loc: Loc::default(),
    };
    let (mut host, mut port): (Option<Option<String>>, Option<Option<i128>>) = (None, None);
    let mut k = 0;
    while k < args.len() {
        let (flag, inline) = match args[k].split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v)),
            _ => (args[k], None),
        };
        let takes_value = flag.starts_with('-') && !NO_VALUE.contains(&flag);
        let value = if takes_value {
            inline.or_else(|| {
                k += 1;
                args.get(k).copied()
            })
        } else {
            None
        };
        match (flag, value) {
            ("--host", Some(v)) => host = Some(literal(v).map(str::to_string)),
            ("--port", Some(v)) => port = Some(literal(v).and_then(|p| p.parse().ok())),
            ("-b" | "--bind", Some(v)) => match v.strip_prefix("unix:") {
                Some(_) => launch.local = true,
                None => launch.binds.push(bind(v)),
            },
            ("--uds" | "--fd", Some(_)) => launch.local = true,
            ("--ssl-certfile" | "--ssl-keyfile" | "--certfile" | "--keyfile", Some(_)) => {
                launch.tls = true
            }
            ("--no-access-log", _) => launch.access_log = false,
            ("--access-logfile", Some(_)) => launch.access_log = true,
            ("-c" | "--config", Some(v)) => launch.config = Some(v.to_string()),
            (w, None) if !w.starts_with('-') && launch.target.is_empty() => {
                launch.target = w.to_string()
            }
            _ => {}
        }
        k += 1;
    }
    if host.is_some() || port.is_some() {
        launch.binds.push((
            host.unwrap_or_else(|| Some(launch.default_bind().0)),
            port.unwrap_or(Some(8000)),
        ));
    }
    // `module:attr`; only `fastapi run` finds the app itself, or takes a file.
    if !launch.target.contains(':') && !server.starts_with("fastapi") {
        return None;
    }
    Some((launch, words[i].as_str()))
}

/// Words after which a command starts: Dockerfile instructions, shell separators, `python -m`,
/// `poetry run`, `sh -c`, a YAML list item.
const COMMAND_BEFORE: &[&str] = &[
    "CMD",
    "ENTRYPOINT",
    "RUN",
    "exec",
    "&&",
    "||",
    ";",
    "-m",
    "run",
    "-c",
    "-",
    "--",
    "nohup",
    "then",
];

/// Options that take no value.
const NO_VALUE: &[&str] = &[
    "--reload",
    "--factory",
    "--proxy-headers",
    "--no-proxy-headers",
    "--no-access-log",
    "--use-colors",
    "--no-use-colors",
    "--preload",
    "--daemon",
    "-D",
    "--debug",
    "--no-server-header",
    "--no-date-header",
    "--check-config",
    "--print-config",
];

/// A value written out, not a variable the shell expands (`$PORT`, `${HOST:-0.0.0.0}`).
fn literal(v: &str) -> Option<&str> {
    (!v.contains('$') && !v.is_empty()).then_some(v)
}

/// gunicorn's and hypercorn's `HOST:PORT` (`:8000` and `0.0.0.0` alone too; `[::]:80` for IPv6).
pub(crate) fn bind(v: &str) -> (Option<String>, Option<i128>) {
    let (host, port) = match v.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (v, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = match host {
        "" => Some("0.0.0.0".to_string()),
        h => literal(h).map(str::to_string),
    };
    let port = match port {
        Some(p) => literal(p).and_then(|p| p.parse().ok()),
        None => Some(8000),
    };
    (host, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Launch {
        parse(&words(line)).expect("a launch").0
    }

    #[test]
    fn uvicorn_in_each_form() {
        let l = one(r#"CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "80"]"#);
        assert_eq!(l.target, "app.main:app");
        assert_eq!(l.binds, vec![(Some("0.0.0.0".into()), Some(80))]);
        assert!(l.access_log && !l.tls);
        let l = one("web: uvicorn app.main:app --host=0.0.0.0 --port=$PORT --no-access-log");
        assert_eq!(l.binds, vec![(Some("0.0.0.0".into()), None)]);
        assert!(!l.access_log);
        let l = one(
            r#"command: ["sh", "-c", "alembic upgrade head && uvicorn app:app --ssl-keyfile k.pem --ssl-certfile c.pem"]"#,
        );
        assert_eq!(l.target, "app:app");
        assert!(l.tls && l.binds.is_empty());
    }

    #[test]
    fn gunicorn_binds_and_defaults() {
        let l = one(
            "CMD gunicorn -k uvicorn.workers.UvicornWorker -b :8000 -b unix:/tmp/s app.main:app",
        );
        assert_eq!(l.target, "app.main:app");
        assert_eq!(l.binds, vec![(Some("0.0.0.0".into()), Some(8000))]);
        assert!(l.local && !l.access_log);
        let l = one("exec gunicorn -c gunicorn.conf.py app.main:app");
        assert_eq!(l.config.as_deref(), Some("gunicorn.conf.py"));
        assert!(l.binds.is_empty());
        assert_eq!(one("fastapi run app/main.py").default_bind().0, "0.0.0.0");
        assert_eq!(one("CMD python -m uvicorn main:app").target, "main:app");
    }

    #[test]
    fn lines_without_a_server_are_skipped() {
        assert!(parse(&words("RUN pip install -r requirements.txt")).is_none());
        assert!(parse(&words("CMD [\"python\", \"main.py\"]")).is_none());
        assert!(parse(&words("RUN pip install uvicorn gunicorn app:x")).is_none());
        assert!(parse(&words("RUN uvicorn --version")).is_none());
    }
}
