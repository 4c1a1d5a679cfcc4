//! Where a listener really listens when the repository's deployment files say: the value a Dockerfile,
//! docker-compose file or Kubernetes manifest gives the environment variable the address is read from,
//! or Rocket's own `ROCKET_ADDRESS`/`ROCKET_PORT` over its default address.

use super::eval::to_addr;
use super::value::{AddrVal, ListenerVal, Origin, Value};
use super::EnvSetting;

/// The address the deployment gives the listener, with the settings that say so; `root` is the
/// directory of the package that binds it (a file deploys only the packages below its scope).
pub fn address(
    env: &[EnvSetting],
    l: &ListenerVal,
    root: &std::path::Path,
) -> Option<(AddrVal, Vec<EnvSetting>)> {
    let env: Vec<EnvSetting> = env
        .iter()
        .filter(|e| root.starts_with(&e.scope))
        .cloned()
        .collect();
    let env = env.as_slice();
    match &l.addr.origin {
        Origin::Env(var, _, _) => {
            let s = setting(env, var)?;
            let text = if l.addr.text == "{?}" {
                s.value.clone()
            } else {
                l.addr.text.replacen("{?}", &s.value, 1)
            };
            Some((
                to_addr(&Value::str(text, Origin::Literal(s.loc))),
                vec![s.clone()],
            ))
        }
        Origin::Default(_) if l.framework == "rocket" => {
            let host = setting(env, "ROCKET_ADDRESS");
            let port = setting(env, "ROCKET_PORT");
            let loc = host.or(port)?.loc;
            let text = format!(
                "{}:{}",
                host.map_or_else(
                    || l.addr.host.clone().unwrap_or_default(),
                    |h| h.value.clone()
                ),
                port.map_or_else(
                    || l.addr
                        .port
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "{?}".into()),
                    |p| p.value.clone()
                ),
            );
            let settings = host.into_iter().chain(port).cloned().collect();
            Some((to_addr(&Value::str(text, Origin::Literal(loc))), settings))
        }
        _ => None,
    }
}

/// The first setting of a variable, in file order, whose value is written out (not `${OTHER}`).
fn setting<'e>(env: &'e [EnvSetting], var: &str) -> Option<&'e EnvSetting> {
    env.iter()
        .find(|e| e.var == var && !e.value.is_empty() && !e.value.contains(['$', '{']))
}
