//! Python servers started by deployment files: `uvicorn app.main:app --host 0.0.0.0` in a Dockerfile's
//! `CMD`, `ENTRYPOINT` or `RUN`, a Procfile's process line or a compose file's `command:` (shell or
//! JSON-array form), and gunicorn, hypercorn and `fastapi run` likewise. A FastAPI service is most
//! often served this way rather than by `uvicorn.run(..)` in its code, so these lines are its
//! listeners. Read line by line, like the environment settings of `deploy.rs`.

use super::deploy::{deploy_kind_of, DeployKind};
use crate::source::{Loc, SourceFile};

/// One server command line.
#[derive(Debug, Clone)]
pub struct Launch {
    pub server: &'static str,
    /// The application: `package.module:attr`, or a file (`app/main.py`) for `fastapi run`.
    pub target: String,
    /// Addresses it binds: host (`None` when a variable gives it) and port. Empty: the server's default.
    pub binds: Vec<(Option<String>, Option<i128>)>,
    /// hypercorn's `--insecure-bind`: plaintext addresses beside the TLS ones.
    pub plain_binds: Vec<(Option<String>, Option<i128>)>,
    /// `PORT` is set for it (by the Procfile's platform, or an `ENV PORT=..` of its Dockerfile, with its
    /// value when written out): gunicorn then binds `0.0.0.0:$PORT` by default.
    pub port_env: Option<Option<i128>>,
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
    pub fn default_bind(&self) -> (String, Option<i128>) {
        match self.server {
            // `fastapi run` is the production command: it listens on every interface.
            "fastapi run" => ("0.0.0.0".into(), Some(8000)),
            "gunicorn" if self.port_env.is_some() => ("0.0.0.0".into(), self.port_env.flatten()),
            _ => ("127.0.0.1".into(), Some(8000)),
        }
    }
}

/// Every server command line of a deployment file or Procfile.
pub fn launches(file: &SourceFile, id: u32) -> Vec<Launch> {
    let Some(kind) = deploy_kind_of(file) else {
        return vec![];
    };
    let mut out = vec![];
    let mut start = 0;
    let mut logical = String::new();
    let mut logical_start = 0;
    let mut port_env = (kind == DeployKind::Procfile).then_some(None);
    for line in file.text.split_inclusive('\n') {
        let trimmed = line.trim();
        if logical.is_empty() {
            logical_start = start;
        }
        start += line.len();
        // Comments are not commands (a continued command's comment lines are skipped too).
        if trimmed.starts_with('#') {
            continue;
        }
        // `CMD uvicorn app.main:app \` continues on the next line.
        if let Some(head) = trimmed.strip_suffix('\\') {
            logical.push_str(head);
            logical.push(' ');
            continue;
        }
        logical.push_str(trimmed);
        if let Some(rest) = logical.strip_prefix("ENV ") {
            for w in split_shell(rest) {
                if let Some(v) = w.strip_prefix("PORT=") {
                    port_env = Some(v.parse().ok());
                }
            }
        }
        let words = words(&logical);
        if let Some((launch, from)) = parse(&words) {
            let text = &file.text[logical_start..start];
            let at = text
                .find(from.as_str())
                .map_or(logical_start, |o| logical_start + o);
            let end = logical_start + text.trim_end().len();
            out.push(Launch {
                loc: Loc::new(id, file.span_of_bytes(at, end.max(at))),
                port_env,
                ..launch
            });
        }
        logical.clear();
    }
    out
}

/// The words of a command line: the strings of a JSON array (`CMD ["uvicorn", "app:app"]`; the
/// command a `sh -c` in it runs, split), else the line split at blanks outside quotes.
fn words(line: &str) -> Vec<String> {
    let t = line.trim();
    if let (Some(open), true) = (t.find('['), t.ends_with(']')) {
        let array = &t[open..];
        let items: Option<Vec<String>> = serde_json::from_str(array).ok().or_else(|| {
            // YAML's single-quoted flow sequences: `['uvicorn', 'app:app']`.
            let inner = &array[1..array.len() - 1];
            Some(
                inner
                    .split(',')
                    .map(|w| unquote(w.trim()).to_string())
                    .collect(),
            )
        });
        if let Some(items) = items.filter(|i| i.len() > 1) {
            let mut out: Vec<String> = t[..open].split_whitespace().map(str::to_string).collect();
            let mut shell = false;
            for item in items {
                if shell {
                    out.extend(split_shell(&item));
                } else {
                    shell = runs_command(&item);
                    out.push(item);
                }
            }
            return out;
        }
    }
    split_shell(t)
}

fn unquote(w: &str) -> &str {
    w.trim_matches(['"', '\''])
}

/// Words separated by blanks outside quotes, the quotes removed.
fn split_shell(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (c, quote) {
            ('"' | '\'', None) => {
                quote = Some(c);
                any = true;
            }
            (q, Some(open)) if q == open => quote = None,
            (c, None) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (c, _) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `package.module:attr` (or `module:create_app()`): an application, not `HOST:PORT`.
pub(super) fn looks_like_app(w: &str) -> bool {
    let Some((module, attr)) = w.split_once(':') else {
        return false;
    };
    let ident = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    module.split('.').all(ident) && ident(attr.split('(').next().unwrap_or(attr))
}

/// The server command in a line's words, and the word it starts at.
fn parse(words: &[String]) -> Option<(Launch, String)> {
    let (i, server) = words.iter().enumerate().find_map(|(i, w)| {
        // In command position: `pip install uvicorn` names a package, not a server.
        let command = i == 0
            || words[i - 1].ends_with(':')
            || COMMAND_BEFORE.contains(&words[i - 1].as_str())
            || runs_command(&words[i - 1])
            || is_env_assignment(&words[i - 1]);
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
        plain_binds: vec![],
        port_env: None,
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
        // A flag not known to take no value takes the next word, unless that word is the app.
        let takes_value = flag.starts_with('-') && !NO_VALUE.contains(&flag);
        let value = if takes_value {
            inline.or_else(|| {
                let next = args
                    .get(k + 1)
                    .copied()
                    .filter(|w| !looks_like_app(w) && (*w == "-" || !w.starts_with('-')));
                if next.is_some() {
                    k += 1;
                }
                next
            })
        } else {
            None
        };
        match (flag, value) {
            ("--host", Some(v)) => host = Some(literal(v).map(str::to_string)),
            ("--port", Some(v)) => port = Some(literal(v).and_then(|p| p.parse().ok())),
            ("-b" | "--bind" | "--insecure-bind", Some(v)) => {
                if v.starts_with("unix:") || v.starts_with("fd://") {
                    launch.local = true;
                } else if flag == "--insecure-bind" {
                    launch.plain_binds.push(bind(v));
                } else {
                    launch.binds.push(bind(v));
                }
            }
            ("--uds" | "--fd", Some(_)) => launch.local = true,
            ("--ssl-certfile" | "--ssl-keyfile" | "--certfile" | "--keyfile", Some(_)) => {
                launch.tls = true
            }
            ("--no-access-log", _) => launch.access_log = false,
            // uvicorn writes its access log at `info` (gunicorn's ignores the level).
            ("--log-level", Some(v))
                if server != "gunicorn"
                    && matches!(
                        v.to_ascii_lowercase().as_str(),
                        "warning" | "error" | "critical"
                    ) =>
            {
                launch.access_log = false
            }
            ("--access-logfile", Some(_)) => launch.access_log = true,
            ("-c" | "--config", Some(v)) => launch.config = Some(v.to_string()),
            (w, None) if launch.target.is_empty() && !w.starts_with('-') => {
                let file = server.starts_with("fastapi") && w.ends_with(".py");
                if looks_like_app(w) || file {
                    launch.target = w.to_string();
                }
            }
            _ => {}
        }
        k += 1;
    }
    if host.is_some() || port.is_some() {
        let (default_host, default_port) = launch.default_bind();
        launch.binds.push((
            host.unwrap_or(Some(default_host)),
            port.unwrap_or(default_port),
        ));
    }
    // `module:attr`; only `fastapi run` finds the app itself, or takes a file.
    if launch.target.is_empty() && !server.starts_with("fastapi") {
        return None;
    }
    Some((launch, words[i].clone()))
}

/// `sh -c`, `bash -lc`, `sh -ec`: a shell's option whose next word is a command line.
fn runs_command(w: &str) -> bool {
    w.starts_with('-') && w.ends_with('c') && (2..=4).contains(&w.len())
}

/// `PORT=80 uvicorn ..`: an environment assignment before the command.
fn is_env_assignment(w: &str) -> bool {
    w.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
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
    "--access-log",
    "--no-access-log",
    "--use-colors",
    "--no-use-colors",
    "--server-header",
    "--no-server-header",
    "--date-header",
    "--no-date-header",
    "--preload",
    "--daemon",
    "-D",
    "--debug",
    "--reuse-port",
    "--capture-output",
    "--check-config",
    "--print-config",
    "--spew",
    "--enable-stdio-inheritance",
    "--no-sendfile",
    "--strip-header-spaces",
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
        assert!(!one("CMD uvicorn app:app --log-level warning").access_log);
        // A flag the parser does not know never swallows the app.
        assert_eq!(
            one("CMD uvicorn --access-log app.main:app").target,
            "app.main:app"
        );
        assert_eq!(
            one("CMD uvicorn --some-new-flag app.main:app").target,
            "app.main:app"
        );
        assert_eq!(
            one("CMD PORT=80 uvicorn app.main:app").target,
            "app.main:app"
        );
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
        let l = one(
            r#"CMD ["gunicorn", "--access-logformat", "%(h)s, %(r)s", "--certfile", "c.pem", "-b", "fd://3", "app.main:app"]"#,
        );
        assert_eq!(l.target, "app.main:app");
        assert!(l.tls && l.local && l.binds.is_empty());
        let l = one(
            "CMD hypercorn --certfile c.pem -b 0.0.0.0:443 --insecure-bind 0.0.0.0:80 app.main:app",
        );
        assert_eq!(l.plain_binds, vec![(Some("0.0.0.0".into()), Some(80))]);
        // An unknown switch does not take the next option as its value.
        let l = one("CMD gunicorn app.main:app --proxy-protocol -b 0.0.0.0:80 --access-logfile - --log-level warning");
        assert_eq!(l.binds, vec![(Some("0.0.0.0".into()), Some(80))]);
        assert!(l.access_log);
        let l = one(r#"CMD ["bash", "-lc", "uvicorn app.main:app --host 0.0.0.0"]"#);
        assert_eq!(l.target, "app.main:app");
        assert_eq!(one("fastapi run app/main.py").default_bind().0, "0.0.0.0");
        assert_eq!(one("CMD python -m uvicorn main:app").target, "main:app");
        assert_eq!(
            one("CMD ['uvicorn', 'main:app', '--host', '::']").binds,
            vec![(Some("::".into()), Some(8000))]
        );
    }

    #[test]
    fn lines_without_a_server_are_skipped() {
        assert!(parse(&words("RUN pip install -r requirements.txt")).is_none());
        assert!(parse(&words("CMD [\"python\", \"main.py\"]")).is_none());
        assert!(parse(&words("RUN pip install uvicorn gunicorn app:x")).is_none());
        assert!(parse(&words("RUN uvicorn --version")).is_none());
    }

    fn file_launches(name: &str, text: &str) -> Vec<Launch> {
        let file = SourceFile::new(
            std::path::PathBuf::from(name),
            name.into(),
            crate::source::FileKind::Deploy,
            text.into(),
        );
        launches(&file, 0)
    }

    #[test]
    fn comments_are_skipped_and_continuations_joined() {
        let text = "FROM python\n# CMD [\"uvicorn\", \"app.main:app\", \"--host\", \"0.0.0.0\"]\nCMD uvicorn app.main:app \\\n    --host 0.0.0.0 --port 80\n";
        let found = file_launches("Dockerfile", text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].binds, vec![(Some("0.0.0.0".into()), Some(80))]);
        assert_eq!(found[0].loc.span.line, 3);
        let procfile = file_launches(
            "Procfile",
            "web: gunicorn -k uvicorn.workers.UvicornWorker app.main:app\n",
        );
        assert_eq!(procfile[0].default_bind(), ("0.0.0.0".into(), None));
        let docker = file_launches(
            "Dockerfile",
            "ENV PORT=8080\nCMD exec gunicorn -k uvicorn.workers.UvicornWorker app.main:app\n",
        );
        assert_eq!(docker[0].default_bind(), ("0.0.0.0".into(), Some(8080)));
    }
}
