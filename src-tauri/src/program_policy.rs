//! "Ask before a new program gets this token": the token broker's [`Policy`] in the app. Per
//! profile the person may turn asking on (off by default); a program not yet allowed for that
//! profile then waits while the window asks Allow once / Always / Deny. "Always" is remembered
//! per profile and executable path in the settings file; no answer within the timeout is Deny.
//!
//! It knows nothing of windows: whoever shows the questions registers [`ProgramPolicy::on_change`]
//! and answers through [`ProgramPolicy::answer`]. The broker asks it only before `token` and
//! `claims`, and the app's own operations never go through the broker, so a question left open
//! blocks nothing but the program that asked.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use chrono::Utc;
#[cfg(unix)]
use pixie::broker::{Decision, Peer, Policy};
use tokio::sync::oneshot;

use crate::ipc::{ProgramAnswer, ProgramQuestion};
use crate::settings::{ProgramRules, SettingsFile};

/// How long a program waits for the person before it is denied.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(60);

/// Called with every open question whenever that list changes.
type OnChange = Arc<dyn Fn(Vec<ProgramQuestion>) + Send + Sync>;

/// A question on screen, and every request waiting for its answer (a program often asks several
/// times at once: they share one question).
struct Open {
    question: ProgramQuestion,
    exe: Option<PathBuf>,
    waiting: Vec<oneshot::Sender<ProgramAnswer>>,
}

pub struct ProgramPolicy {
    file: Arc<SettingsFile>,
    rules: Mutex<ProgramRules>,
    open: Mutex<Vec<Open>>,
    next_id: Mutex<u32>,
    timeout: Duration,
    on_change: Mutex<Option<OnChange>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ProgramPolicy {
    pub fn new(file: Arc<SettingsFile>, timeout: Duration) -> Self {
        Self {
            rules: Mutex::new(file.load_programs()),
            file,
            open: Mutex::default(),
            next_id: Mutex::new(0),
            timeout,
            on_change: Mutex::new(None),
        }
    }

    /// Registers what shows the open questions (the window).
    pub fn on_change(&self, f: impl Fn(Vec<ProgramQuestion>) + Send + Sync + 'static) {
        *lock(&self.on_change) = Some(Arc::new(f));
    }

    /// Whether `profile` asks before a new program gets its token.
    pub fn asks(&self, profile: &str) -> bool {
        lock(&self.rules).ask.contains(profile)
    }

    /// Turns asking on or off for `profile`, and saves it.
    pub fn set_asks(&self, profile: &str, ask: bool) -> std::io::Result<()> {
        self.change_rules(|r| {
            if ask {
                r.ask.insert(profile.to_owned());
            } else {
                r.ask.remove(profile);
            }
        })
    }

    /// The executables allowed "Always" for `profile`, by path.
    pub fn allowed(&self, profile: &str) -> Vec<PathBuf> {
        lock(&self.rules)
            .allowed
            .get(profile)
            .map(|a| a.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets that `exe` was allowed "Always" for `profile`: with asking on, it is asked again
    /// next time. Forgetting a program that is not allowed changes nothing.
    pub fn disallow(&self, profile: &str, exe: &std::path::Path) -> std::io::Result<()> {
        let known = lock(&self.rules)
            .allowed
            .get(profile)
            .is_some_and(|a| a.contains(exe));
        if !known {
            return Ok(());
        }
        self.change_rules(|r| {
            if let Some(a) = r.allowed.get_mut(profile) {
                a.remove(exe);
                if a.is_empty() {
                    r.allowed.remove(profile);
                }
            }
        })
    }

    /// Forgets everything about a deleted profile, so a new one of that name starts afresh.
    pub fn forget(&self, profile: &str) -> std::io::Result<()> {
        if !self.asks(profile) && !lock(&self.rules).allowed.contains_key(profile) {
            return Ok(());
        }
        self.change_rules(|r| {
            r.ask.remove(profile);
            r.allowed.remove(profile);
        })
    }

    /// Every question still open, oldest first.
    pub fn questions(&self) -> Vec<ProgramQuestion> {
        lock(&self.open)
            .iter()
            .map(|o| o.question.clone())
            .collect()
    }

    /// The person's answer to question `id`; an unknown id (answered already, or timed out) is
    /// ignored.
    pub fn answer(&self, id: u32, answer: ProgramAnswer) {
        let open = {
            let mut all = lock(&self.open);
            let Some(i) = all.iter().position(|o| o.question.id == id) else {
                return;
            };
            all.remove(i)
        };
        if answer == ProgramAnswer::Always {
            if let Some(exe) = &open.exe {
                let profile = open.question.profile.clone();
                let saved = self.change_rules(|r| {
                    r.allowed.entry(profile).or_default().insert(exe.clone());
                });
                if let Err(e) = saved {
                    // Allowed now all the same; the next run asks again.
                    tracing::warn!(error = %e, "cannot save the allowed program");
                }
            }
        }
        for w in open.waiting {
            let _ = w.send(answer);
        }
        self.changed();
    }

    #[cfg(unix)]
    async fn decide(&self, peer: &Peer, profile: &str) -> Decision {
        {
            let rules = lock(&self.rules);
            if !rules.ask.contains(profile) {
                return Decision::Allow;
            }
            let allowed = peer
                .exe
                .as_ref()
                .is_some_and(|e| rules.allowed.get(profile).is_some_and(|a| a.contains(e)));
            if allowed {
                return Decision::Allow;
            }
        }
        let (tx, rx) = oneshot::channel();
        let id = self.open_question(peer, profile, tx);
        let answer = tokio::time::timeout(self.timeout, rx).await;
        match answer {
            Ok(Ok(ProgramAnswer::AllowOnce | ProgramAnswer::Always)) => Decision::Allow,
            Ok(Ok(ProgramAnswer::Deny)) | Ok(Err(_)) => Decision::Deny,
            Err(_) => {
                tracing::info!(profile, exe = ?peer.exe, "no answer in time; denied");
                self.answer(id, ProgramAnswer::Deny);
                Decision::Deny
            }
        }
    }

    #[cfg(unix)]
    /// Adds `tx` to the open question of this program and profile, or opens one. Returns its id.
    fn open_question(&self, peer: &Peer, profile: &str, tx: oneshot::Sender<ProgramAnswer>) -> u32 {
        let mut all = lock(&self.open);
        // One program's several requests share a question; an unknown program's never do.
        let same =
            |o: &Open| o.question.profile == profile && peer.exe.is_some() && o.exe == peer.exe;
        if let Some(o) = all.iter_mut().find(|o| same(o)) {
            o.waiting.push(tx);
            return o.question.id;
        }
        let id = {
            let mut next = lock(&self.next_id);
            *next = next.wrapping_add(1);
            *next
        };
        let expires_at = Utc::now()
            + chrono::Duration::from_std(self.timeout).unwrap_or(chrono::Duration::zero());
        all.push(Open {
            question: ProgramQuestion {
                id,
                profile: profile.to_owned(),
                path: peer.exe.as_ref().map(|e| e.display().to_string()),
                pid: peer.pid,
                expires_at: expires_at.timestamp_millis(),
            },
            exe: peer.exe.clone(),
            waiting: vec![tx],
        });
        drop(all);
        self.changed();
        id
    }

    fn change_rules(&self, f: impl FnOnce(&mut ProgramRules)) -> std::io::Result<()> {
        let mut rules = lock(&self.rules);
        f(&mut rules);
        self.file.save_programs(&rules)
    }

    fn changed(&self) {
        let f = lock(&self.on_change).clone();
        if let Some(f) = f {
            f(self.questions());
        }
    }
}

#[cfg(unix)]
impl Policy for ProgramPolicy {
    fn ask<'a>(
        &'a self,
        peer: &'a Peer,
        profile: &'a str,
    ) -> Pin<Box<dyn Future<Output = Decision> + Send + 'a>> {
        Box::pin(self.decide(peer, profile))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn peer(exe: Option<&str>) -> Peer {
        Peer {
            pid: Some(42),
            uid: 1000,
            exe: exe.map(PathBuf::from),
        }
    }

    fn policy(dir: &std::path::Path, timeout: Duration) -> Arc<ProgramPolicy> {
        let file = Arc::new(SettingsFile::new(dir.join("desktop.json")));
        Arc::new(ProgramPolicy::new(file, timeout))
    }

    /// Answers each question as it opens with what `answer` gives for it.
    fn answering(p: &Arc<ProgramPolicy>, answer: ProgramAnswer) -> Arc<Mutex<Vec<String>>> {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (weak, seen) = (Arc::downgrade(p), asked.clone());
        p.on_change(move |open| {
            for q in open {
                lock(&seen).push(q.path.clone().unwrap_or_default());
                if let Some(p) = weak.upgrade() {
                    // Answered from another task, as the window does.
                    tokio::spawn(async move { p.answer(q.id, answer) });
                }
            }
        });
        asked
    }

    #[tokio::test]
    async fn off_by_default_every_program_is_allowed_without_a_question() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy(dir.path(), ASK_TIMEOUT);
        let asked = answering(&p, ProgramAnswer::Deny);
        assert!(!p.asks("work"));
        assert_eq!(
            p.ask(&peer(Some("/usr/bin/kubectl")), "work").await,
            Decision::Allow
        );
        assert!(lock(&asked).is_empty());
    }

    #[tokio::test]
    async fn always_is_remembered_per_profile_and_program_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy(dir.path(), ASK_TIMEOUT);
        p.set_asks("work", true).unwrap();
        let asked = answering(&p, ProgramAnswer::Always);
        let kubectl = peer(Some("/usr/bin/kubectl"));
        assert_eq!(p.ask(&kubectl, "work").await, Decision::Allow);
        assert_eq!(lock(&asked).len(), 1);
        // Remembered: no second question, even after a restart (read from the file).
        assert_eq!(p.ask(&kubectl, "work").await, Decision::Allow);
        assert_eq!(lock(&asked).len(), 1);
        let again = policy(dir.path(), ASK_TIMEOUT);
        assert!(again.asks("work"));
        let denied = answering(&again, ProgramAnswer::Deny);
        assert_eq!(again.ask(&kubectl, "work").await, Decision::Allow);
        assert!(lock(&denied).is_empty());
        // Another program, or another profile that asks, is asked about.
        again.set_asks("home", true).unwrap();
        assert_eq!(
            again.ask(&peer(Some("/usr/bin/git")), "work").await,
            Decision::Deny
        );
        assert_eq!(again.ask(&kubectl, "home").await, Decision::Deny);
        assert_eq!(*lock(&denied), ["/usr/bin/git", "/usr/bin/kubectl"]);
    }

    #[tokio::test]
    async fn a_forgotten_program_is_asked_again_and_stays_forgotten_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy(dir.path(), ASK_TIMEOUT);
        p.set_asks("work", true).unwrap();
        let _always = answering(&p, ProgramAnswer::Always);
        let kubectl = peer(Some("/usr/bin/kubectl"));
        let git = peer(Some("/usr/bin/git"));
        assert_eq!(p.ask(&kubectl, "work").await, Decision::Allow);
        assert_eq!(p.ask(&git, "work").await, Decision::Allow);
        assert_eq!(
            p.allowed("work"),
            [
                PathBuf::from("/usr/bin/git"),
                PathBuf::from("/usr/bin/kubectl")
            ]
        );
        p.disallow("work", std::path::Path::new("/usr/bin/kubectl"))
            .unwrap();
        // Forgetting what is not allowed changes nothing.
        p.disallow("work", std::path::Path::new("/usr/bin/ssh"))
            .unwrap();
        p.disallow("home", std::path::Path::new("/usr/bin/git"))
            .unwrap();
        let again = policy(dir.path(), ASK_TIMEOUT);
        assert_eq!(again.allowed("work"), [PathBuf::from("/usr/bin/git")]);
        let denied = answering(&again, ProgramAnswer::Deny);
        assert_eq!(again.ask(&git, "work").await, Decision::Allow);
        assert_eq!(again.ask(&kubectl, "work").await, Decision::Deny);
        assert_eq!(*lock(&denied), ["/usr/bin/kubectl"]);
        again
            .disallow("work", std::path::Path::new("/usr/bin/git"))
            .unwrap();
        assert!(again.allowed("work").is_empty());
    }

    #[tokio::test]
    async fn allow_once_is_not_remembered_and_an_unknown_program_is_never_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy(dir.path(), ASK_TIMEOUT);
        p.set_asks("work", true).unwrap();
        let asked = answering(&p, ProgramAnswer::AllowOnce);
        let git = peer(Some("/usr/bin/git"));
        assert_eq!(p.ask(&git, "work").await, Decision::Allow);
        assert_eq!(p.ask(&git, "work").await, Decision::Allow);
        assert_eq!(lock(&asked).len(), 2, "asked each time");

        let p = policy(dir.path(), ASK_TIMEOUT);
        let asked = answering(&p, ProgramAnswer::Always);
        assert_eq!(p.ask(&peer(None), "work").await, Decision::Allow);
        assert_eq!(p.ask(&peer(None), "work").await, Decision::Allow);
        assert_eq!(lock(&asked).len(), 2, "nothing to remember it by");
        assert!(p.questions().is_empty());
    }

    #[tokio::test]
    async fn no_answer_in_time_is_deny_and_the_question_closes() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy(dir.path(), Duration::from_millis(200));
        p.set_asks("work", true).unwrap();
        let shown = Arc::new(Mutex::new(Vec::new()));
        let seen = shown.clone();
        p.on_change(move |open| lock(&seen).push(open.len()));
        let kubectl = peer(Some("/usr/bin/kubectl"));
        // Two requests of one program share a question.
        let (a, b) = tokio::join!(p.ask(&kubectl, "work"), p.ask(&kubectl, "work"));
        assert_eq!((a, b), (Decision::Deny, Decision::Deny));
        assert_eq!(*lock(&shown), [1, 0], "opened once, then closed");
        assert!(p.questions().is_empty());
        // A late answer changes nothing.
        p.answer(1, ProgramAnswer::Always);
        assert!(lock(&p.rules).allowed.is_empty());
    }

    #[tokio::test]
    async fn deny_is_final_and_a_deleted_profile_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let p = policy(dir.path(), ASK_TIMEOUT);
        p.set_asks("work", true).unwrap();
        answering(&p, ProgramAnswer::Deny);
        assert_eq!(p.ask(&peer(Some("/bin/sh")), "work").await, Decision::Deny);
        p.forget("work").unwrap();
        assert!(!p.asks("work"));
        assert_eq!(
            policy(dir.path(), ASK_TIMEOUT).load_rules(),
            ProgramRules::default()
        );
    }

    impl ProgramPolicy {
        fn load_rules(&self) -> ProgramRules {
            self.file.load_programs()
        }
    }
}
