//! One unit of analysis (a package) from its files to its findings: read → (cache hit: done) → front
//! end per file → model → rules → suppressions. Nothing of a unit outlives it but its findings, the
//! texts of the files they point into, and the model when the caller asked to keep it.

use super::cache::{Cache, PackEntry};
use super::diagnostics::{enabled_id, internal_error, panic_message, INTERNAL_ERROR, PARSE_ERROR};
use super::frontend::{FactsMemo, FileOut, FrontEnd};
use super::hash::Hasher128;
use super::policy::Policy;
use super::read::{read, ReadFile, UnitPlan};
use super::suppressions::Suppressions;
use crate::discover::Package;
use crate::model::{self, Model, Program, Unit};
use crate::rules::prefilter::CaseFilter;
use crate::rules::{Finding, Rule};
use crate::source::SourceFile;
use rayon::prelude::*;

/// What stays the same for every unit of a run.
pub struct RunCx<'a> {
    pub policy: &'a Policy,
    pub enabled: &'a (dyn Fn(&Rule) -> bool + Sync),
    pub cache: Option<&'a Cache>,
    pub keep_model: bool,
    /// Every call entity is built (a kept model is for people and tools to read), unless pruned.
    all_calls: bool,
    pub memo: Option<&'a FactsMemo>,
    /// The policy's fingerprint, part of every facts key.
    pub policy_key: u128,
    /// The policy and the enabled rules, hashed once: part of every unit key.
    pub key: u128,
    /// The enabled cases on calls, to decide which call entities to build.
    pub calls: CaseFilter<'a>,
}

impl<'a> RunCx<'a> {
    pub fn new(
        policy: &'a Policy,
        enabled: &'a (dyn Fn(&Rule) -> bool + Sync),
        cache: Option<&'a Cache>,
        keep_model: bool,
        memo: Option<&'a FactsMemo>,
    ) -> Self {
        let policy_key = policy.fingerprint();
        let mut h = Hasher128::new();
        h.u128(policy_key);
        for r in &policy.rules.rules {
            if enabled(r) {
                h.str(&r.id);
            }
        }
        for id in [PARSE_ERROR, INTERNAL_ERROR] {
            h.u64(enabled_id(&policy.rules, enabled, id) as u64);
        }
        RunCx {
            policy,
            enabled,
            cache,
            keep_model,
            all_calls: keep_model,
            memo,
            policy_key,
            key: h.finish(),
            calls: CaseFilter::new(&policy.rules, "call", enabled),
        }
    }
}

impl RunCx<'_> {
    /// Builds only the call entities enabled rules could match, even in a kept model.
    pub fn pruning_calls(mut self, prune: bool) -> Self {
        self.all_calls &= !prune;
        self
    }
}

pub struct UnitResult {
    pub files: Vec<SourceFile>,
    pub findings: Vec<Finding>,
    pub suppressed: usize,
    pub model: Option<Model>,
}

pub fn analyse(cx: &RunCx, plan: &UnitPlan, package: &Package) -> UnitResult {
    let mut clock = Clock::start(&package.name, plan.files.len());
    let reads: Vec<ReadFile> = plan
        .files
        .par_iter()
        .enumerate()
        .map(|(i, f)| read(f, plan.first_file + i as u32, cx.policy.max_file_size))
        .collect();
    let key = unit_key(cx, plan, package, &reads);
    let cache = cx.cache.filter(|_| !cx.keep_model);
    // The unit's facts pack is keyed by the package alone: its entries are per file.
    let python = package
        .code_files
        .iter()
        .any(|f| f.kind == crate::source::FileKind::Python);
    let pack = Hasher128::new()
        .str(if python { "facts-python" } else { "facts" })
        .str(&package.name)
        .str(&package.root.to_string_lossy())
        .finish();
    clock.lap("read");
    if let Some(hit) = cache.and_then(|c| c.get_unit(key, plan.first_file)) {
        // The facts are still in use: the next change to this unit needs them.
        if let Some(c) = cache {
            c.touch_facts(pack);
        }
        let files = reads.into_iter().map(|r| r.file).collect();
        clock.lap("cached");
        return finish(files, plan.first_file, hit.findings, hit.suppressed, None);
    }
    // A unit analysed again by the same process has its facts in memory: the pack on disk is
    // neither read nor rewritten for each edit (the next `check` lowers the edited files).
    let remembered = cx.memo.is_some_and(|m| m.holds(pack));
    let front = FrontEnd {
        crates: &package.crates,
        advisories: &cx.policy.advisories,
        stored: match (cx.cache, remembered) {
            (Some(c), false) => c.get_facts(pack),
            _ => Default::default(),
        },
        memo: cx.memo,
        policy: cx.policy_key,
    };
    let outs: Vec<FileOut> = plan
        .files
        .par_iter()
        .zip(reads.par_iter())
        .enumerate()
        .map(|(i, (p, r))| front.file(p, r, plan.first_file + i as u32))
        .collect();
    if let Some(c) = cx
        .cache
        .filter(|_| !remembered && outs.iter().any(|o| o.lowered && o.facts.is_some()))
    {
        store_facts(c, pack, &outs, &front);
    }
    drop(front);
    if let Some(m) = cx.memo {
        m.replace(
            pack,
            outs.iter().filter_map(|o| Some((o.key, o.facts.clone()?))),
        );
    }
    let lowered = outs.iter().filter(|o| o.lowered).count();
    let mut panicked = outs.iter().any(|o| o.panicked);
    clock.lap("front end");
    clock.note(format!("{lowered} file(s) lowered"));
    let mut findings: Vec<Finding> = vec![];
    let mut units: Vec<Unit> = vec![];
    let mut config = vec![];
    let mut env = vec![];
    let mut launches = vec![];
    let mut advisories = vec![];
    let files: Vec<SourceFile> = reads
        .into_iter()
        .zip(outs)
        .enumerate()
        .map(|(i, (r, out))| {
            findings.extend(r.problem);
            findings.extend(out.findings);
            config.extend(out.config);
            env.extend(out.env);
            launches.extend(out.launches);
            advisories.extend(out.advisories);
            if let Some(facts) = out.facts {
                let p = &plan.files[i];
                units.push(Unit {
                    file: plan.first_file + i as u32,
                    krate: p.krate,
                    target: p.target.clone(),
                    module: crate::facts::names(&p.module),
                    facts,
                    text: r.file.text.clone(),
                    language: if p.kind == crate::source::FileKind::Python {
                        "python"
                    } else {
                        "rust"
                    },
                });
            }
            r.file
        })
        .collect();
    drop_test_modules(&mut units);
    let first_rust = units.first().map_or(plan.first_file, |u| u.file);
    let mut model = build_model(
        cx,
        package,
        &units,
        (config, env, launches),
        first_rust,
        &mut findings,
    )
    .unwrap_or_else(|| {
        panicked = true;
        Model::default()
    });
    drop(units);
    model.advisories = advisories;
    clock.lap("model");
    let (findings, suppressed) = evaluate(cx, &files, plan.first_file, &mut model, findings);
    clock.lap("rules");
    // A failure inside portcullis is reported every time, never answered from the cache.
    if let (Some(c), false) = (cache, panicked) {
        c.put_unit(key, plan.first_file, &findings, suppressed);
    }
    finish(
        files,
        plan.first_file,
        findings,
        suppressed,
        cx.keep_model.then_some(model),
    )
}

/// Replaces the unit's facts pack: the files lowered now are encoded, the others keep the bytes they
/// were read from.
fn store_facts(cache: &Cache, pack: u128, outs: &[FileOut], front: &FrontEnd) {
    let files: Vec<(u128, PackEntry)> = outs
        .iter()
        .filter_map(|o| {
            let entry = match (&o.facts, o.lowered) {
                (Some(f), true) => PackEntry::Lowered(f),
                // Facts from the memo of another unit have no stored bytes here.
                (Some(f), false) => match front.stored.get(&o.key) {
                    Some(bytes) => PackEntry::Stored(bytes),
                    None => PackEntry::Lowered(f),
                },
                (None, _) => return None,
            };
            Some((o.key, entry))
        })
        .collect();
    cache.put_facts(pack, &files);
}

/// Everything a unit's findings depend on besides the policy: each file's name, place in the crate and
/// bytes.
fn unit_key(cx: &RunCx, plan: &UnitPlan, package: &Package, reads: &[ReadFile]) -> u128 {
    let mut h = Hasher128::new();
    h.str("unit").u128(cx.key).str(&package.name);
    // Crate names and the names their code gives each other decide name resolution.
    for c in &package.crates {
        h.str(&c.name).str(&c.lib).u64(c.deps.len() as u64);
        for (name, k) in &c.deps {
            h.str(name).u64(*k as u64);
        }
    }
    for (p, r) in plan.files.iter().zip(reads) {
        h.str(&p.display)
            .str(&p.target)
            .u64(p.krate as u64)
            .u64(p.kind as u64)
            .u64(p.module.len() as u64)
            .u128(r.hash)
            .u64(r.readable as u64);
        for m in &p.module {
            h.str(m);
        }
    }
    h.finish()
}

/// Files of `#[cfg(test)] mod x;` modules are test code.
fn drop_test_modules(units: &mut Vec<Unit>) {
    let test_mods: Vec<(u32, String, Vec<crate::facts::Name>)> = units
        .iter()
        .flat_map(|u| {
            u.facts
                .test_mods
                .iter()
                .map(move |m| (u.krate, u.target.clone(), m.clone()))
        })
        .collect();
    // `src/main.rs` and `src/lib.rs` share `src/`: a module file below it is filed under `lib`
    // whichever root declares it.
    let same_tree =
        |a: &str, b: &str| a == b || (["main", "lib"].contains(&a) && ["main", "lib"].contains(&b));
    units.retain(|u| {
        !test_mods
            .iter()
            .any(|(k, t, m)| *k == u.krate && same_tree(t, &u.target) && u.module.starts_with(m))
    });
}

/// The unit's model; `None` when building it failed inside portcullis (reported at `report_at`, the
/// package's first Rust file: its parse and configuration findings remain).
fn build_model(
    cx: &RunCx,
    package: &Package,
    units: &[Unit],
    (config, env, launches): (
        Vec<model::ConfigEntry>,
        Vec<model::EnvSetting>,
        Vec<model::Launch>,
    ),
    report_at: u32,
    findings: &mut Vec<Finding>,
) -> Option<Model> {
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let prog = Program::new(&package.crates, units);
        // A kept model is for people and tools to read: every call is in it (unless pruned on purpose).
        let keep_call = |call: &model::Call, built: model::Built| {
            cx.all_calls || cx.calls.may_match(call, &|p: &[String]| built.knows(p))
        };
        model::build_package(
            &prog,
            &cx.policy.catalog,
            config,
            env,
            &launches,
            &keep_call,
        )
    }));
    built
        .map_err(|p| {
            findings.push(internal_error(
                report_at,
                format!(
                    "internal error while building the model of package `{}`: {}",
                    package.name,
                    panic_message(p.as_ref())
                ),
            ))
        })
        .ok()
}

/// The enabled rules on the unit's model, then the suppression comments, then the rules about them.
fn evaluate(
    cx: &RunCx,
    files: &[SourceFile],
    first_file: u32,
    model: &mut Model,
    mut findings: Vec<Finding>,
) -> (Vec<Finding>, usize) {
    let rules = &cx.policy.rules;
    let enabled = cx.enabled;
    findings.retain(|f| enabled_id(rules, enabled, &f.rule));
    let about_suppressions =
        |r: &Rule| !r.cases.is_empty() && r.cases.iter().all(|c| c.target == "suppression");
    findings.extend(rules.evaluate(model, &|r: &Rule| enabled(r) && !about_suppressions(r)));
    let mut sups = Suppressions::scan(files, first_file);
    let suppressed = sups.apply(&mut findings);
    model.suppressions = sups.entities(files, cx.policy, enabled);
    findings.extend(rules.evaluate(model, &|r: &Rule| enabled(r) && about_suppressions(r)));
    (findings, suppressed)
}

/// Keeps the text of the files findings point into; the others are no longer needed (the model, when
/// kept, may point anywhere).
fn finish(
    mut files: Vec<SourceFile>,
    first_file: u32,
    findings: Vec<Finding>,
    suppressed: usize,
    model: Option<Model>,
) -> UnitResult {
    if model.is_none() {
        let mut needed = vec![false; files.len()];
        for f in &findings {
            for id in std::iter::once(f.loc.file).chain(f.labels.iter().map(|l| l.loc.file)) {
                if let Some(n) = id
                    .checked_sub(first_file)
                    .and_then(|i| needed.get_mut(i as usize))
                {
                    *n = true;
                }
            }
        }
        for (file, keep) in files.iter_mut().zip(needed) {
            if !keep {
                file.forget_text();
            }
        }
    }
    UnitResult {
        files,
        findings,
        suppressed,
        model,
    }
}

/// Per-stage wall time of each unit on stderr, when `PORTCULLIS_TIMINGS` is set (for profiling; the
/// report itself never depends on it).
struct Clock {
    on: bool,
    unit: String,
    started: std::time::Instant,
    laps: Vec<(&'static str, f64, String)>,
}

/// The process's resident memory where the system tells it (`/proc/self/status` on Linux).
fn resident() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| format!(" [{}]", l[6..].trim()))
        })
        .unwrap_or_default()
}

impl Clock {
    fn start(unit: &str, files: usize) -> Clock {
        let on = std::env::var_os("PORTCULLIS_TIMINGS").is_some();
        Clock {
            on,
            unit: if on {
                format!("{unit} ({files} files)")
            } else {
                String::new()
            },
            started: std::time::Instant::now(),
            laps: vec![],
        }
    }

    /// Adds a remark to the last stage.
    fn note(&mut self, text: String) {
        if let Some(last) = self.laps.last_mut().filter(|_| self.on) {
            last.2 = format!(" ({text}){}", last.2);
        }
    }

    fn lap(&mut self, stage: &'static str) {
        if self.on {
            self.laps
                .push((stage, self.started.elapsed().as_secs_f64(), resident()));
        }
    }
}

impl Drop for Clock {
    fn drop(&mut self) {
        if self.on {
            let mut last = 0.0;
            let laps: Vec<String> = self
                .laps
                .iter()
                .map(|(s, t, rss)| {
                    let d = t - last;
                    last = *t;
                    format!("{s} {:.0} ms{rss}", d * 1000.0)
                })
                .collect();
            eprintln!("portcullis: timing: {}: {}", self.unit, laps.join(", "));
        }
    }
}
