//! The dashboard in a real browser: the real `chitra serve` on a free port over a data directory
//! the demo seeded (June to August 2024 paid), Debian's headless Chromium driven through
//! chromedriver with fantoccini. Each test signs people in through the sign-in form and uses
//! the pages as staff would. Screenshots of the main pages go to `docs/screenshots/`.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `.ci/run` installs them): without them the tests fail saying so, never skip.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::bin::{chitra_ok, serve, stop, token_add, BIN};
use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
use serde_json::Value;

/// Seeds the demo's province once per test process (kept in cargo's scratch directory) and
/// copies it for each test, so that tests do not wait for each other's writes.
fn seeded() -> PathBuf {
    static SEED: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut seed = SEED.lock().unwrap();
    if let Some(dir) = &*seed {
        return dir.clone();
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-demo");
    // Made anew by each test process; the tests copy it and never change it.
    let _ = std::fs::remove_dir_all(&dir);
    chitra_ok(&dir, &["demo", "--persons", "40"]);
    // September's BTXH funds, so that the batch a test computes can be approved.
    chitra_ok(
        &dir,
        &[
            "--as",
            "checker:demo-tuan",
            "funds",
            "allocate",
            "--programme",
            "BTXH",
            "--from",
            "2024-09",
            "--to",
            "2024-09",
            "--amount",
            "2000000000",
            "--decision",
            "109/QĐ-KBNN",
            "--decision-date",
            "2024-08-20",
            "--signer",
            "Giám đốc Kho bạc Nhà nước",
        ],
    );
    *seed = Some(dir.clone());
    dir
}

fn require(program: &str, package: &str) {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "the dashboard's browser tests need `{program}`: install Debian's {package} \
         (apt-get install -y chromium chromium-driver; .ci/run does it)"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A served ledger, a chromedriver and the tokens of the people who use it.
struct Harness {
    _dir: tempfile::TempDir,
    server: Option<Child>,
    driver: Child,
    pub base: String,
    webdriver: String,
    tokens: Vec<(String, String)>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Some(mut s) = self.server.take() {
            stop(&mut s);
        }
    }
}

impl Harness {
    fn start() -> Harness {
        require("chromium", "chromium");
        require("chromedriver", "chromium-driver");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        common::copy_dir(&seeded(), &data);
        let tokens_file = dir.path().join("tokens.json");
        let mut tokens = Vec::new();
        for (role, name) in [
            ("maker", "hoa"),
            ("checker", "tuan"),
            ("checker", "hoa"),
            ("auditor", "minh"),
            ("officer", "lan"),
        ] {
            tokens.push((
                format!("{role}:{name}"),
                token_add(&tokens_file, role, name),
            ));
        }
        for bin in ["970436", "970418"] {
            let out = Command::new(BIN)
                .args(["token", "add", "--role", "bank", "--bin", bin, "--tokens"])
                .arg(&tokens_file)
                .output()
                .unwrap();
            assert!(out.status.success());
            tokens.push((
                format!("bank:{bin}"),
                String::from_utf8(out.stdout).unwrap().trim().to_owned(),
            ));
        }
        let (server, addr) = serve(&data, &tokens_file, "warn", Stdio::null());
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let webdriver = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Harness {
            _dir: dir,
            server: Some(server),
            driver,
            base: format!("http://{addr}"),
            webdriver,
            tokens,
        }
    }

    fn token(&self, principal: &str) -> &str {
        &self
            .tokens
            .iter()
            .find(|(p, _)| p == principal)
            .expect("a token for the principal")
            .1
    }

    /// A fresh headless Chromium at 1366×768, an office laptop's screen.
    async fn browser(&self) -> Browser {
        let mut caps = serde_json::Map::new();
        let chromium = which("chromium");
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1366,768"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.webdriver)
            .await
            .expect("a WebDriver session with headless Chromium");
        Browser {
            client,
            base: self.base.clone(),
        }
    }

    /// The raw bytes the API answers a principal (a payment file).
    fn bytes(&self, principal: &str, path: &str) -> Vec<u8> {
        let out = Command::new("curl")
            .args(["-sSf", "-H"])
            .arg(format!("Authorization: Bearer {}", self.token(principal)))
            .arg(format!("{}{path}", self.base))
            .output()
            .expect("curl");
        assert!(out.status.success(), "{path}");
        out.stdout
    }

    /// The API's answer for a principal (to compare pages with).
    fn api(&self, principal: &str, path: &str) -> Value {
        let out = Command::new("curl")
            .args(["-sS", "-H"])
            .arg(format!("Authorization: Bearer {}", self.token(principal)))
            .arg(format!("{}{path}", self.base))
            .output()
            .expect("curl");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    }
}

fn which(program: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

struct Browser {
    client: Client,
    base: String,
}

/// WebDriver's codes for the Tab and Enter keys.
const TAB: &str = "\u{e004}";
const ENTER: &str = "\u{e007}";

impl Browser {
    async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// The element, once the page shows it (a form's answer may still be loading).
    async fn find(&self, css: &str) -> Element {
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(e) => e,
            Err(e) => panic!("{css}: {e}\n{}", self.source().await),
        }
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Waits until the page holds `needle` (after a form's answer replaced the page).
    async fn wait_for_text(&self, needle: &str) {
        for _ in 0..200 {
            if self.source().await.contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never showed {needle:?}:\n{}", self.source().await);
    }

    async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    async fn sign_in(&self, token: &str) {
        self.open("/sign-in").await;
        self.find("#token").await.send_keys(token).await.unwrap();
        self.find("#sign-in").await.click().await.unwrap();
    }

    /// Signs out and waits for the sign-in page it leads to: the click returns before that
    /// page has loaded, and opening the sign-in page meanwhile raced it for the form's CSRF
    /// cookie (each load sets its own), which a loaded CI machine lost.
    async fn sign_out(&self) {
        self.find("#sign-out").await.click().await.unwrap();
        self.find("#sign-in").await;
    }

    async fn submit(&self, form: &str) {
        self.find(&format!("{form} button[type=submit]"))
            .await
            .click()
            .await
            .unwrap();
    }

    /// The maker's form for September 2024's BTXH batch, filled in but not sent.
    async fn fill_open_batch(&self) {
        self.open("/batches").await;
        self.find("#month")
            .await
            .send_keys("2024-09")
            .await
            .unwrap();
        self.find("#funding_account")
            .await
            .send_keys("3761000000002")
            .await
            .unwrap();
        self.find("#programme")
            .await
            .select_by_value("BTXH")
            .await
            .unwrap();
    }

    /// Presses keys on whatever has the focus (WebDriver key codes: Tab, Enter).
    async fn press(&self, keys: &str) {
        let active = self.client.active_element().await.unwrap();
        active.send_keys(keys).await.unwrap();
    }

    /// Whether the focused element matches `css`.
    async fn focused(&self, css: &str) -> bool {
        let v = self
            .client
            .execute(
                "return document.activeElement !== null && document.activeElement.matches(arguments[0]);",
                vec![Value::String(css.to_owned())],
            )
            .await
            .unwrap();
        v.as_bool().unwrap_or(false)
    }

    /// Waits (without a key pressed) until `css` has the focus: a page's `autofocus` is applied
    /// once it has loaded, which on a loaded machine comes after `open` returns.
    async fn wait_for_focus(&self, css: &str) {
        for _ in 0..200 {
            if self.focused(css).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never had the focus");
    }

    /// Presses Tab until `css` has the focus (at most `TABS_MAX` times).
    async fn tab_to(&self, css: &str) {
        const TABS_MAX: usize = 200;
        for _ in 0..TABS_MAX {
            if self.focused(css).await {
                return;
            }
            self.press(TAB).await;
        }
        panic!("Tab never reached {css}:\n{}", self.source().await);
    }

    /// The maker opens September 2024's BTXH batch and computes it: the batch's id.
    async fn open_and_compute(&self) -> String {
        self.fill_open_batch().await;
        self.submit("#open-batch").await;
        self.wait_for_text("data-status=\"open\"").await;
        let url = self.client.current_url().await.unwrap();
        let batch = url.path().rsplit('/').next().unwrap().to_owned();
        self.submit("#compute").await;
        self.wait_for_text("data-status=\"computed\"").await;
        batch
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Runs `body` with a served demo and a browser, and closes the browser whatever happens (a
/// failed assertion must not leave a Chromium running).
async fn with_browser<F, Fut>(body: F)
where
    F: FnOnce(Arc<Harness>, Browser) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let h = Arc::new(Harness::start());
    let b = h.browser().await;
    let client = b.client.clone();
    let outcome = tokio::spawn(body(h.clone(), b)).await;
    let _ = client.close().await;
    drop(h);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maker_computes_a_checker_approves_in_the_browser_and_the_makers_own_approval_is_refused()
{
    with_browser(|h, b| async move {
        b.sign_in(h.token("maker:hoa")).await;
        // Every page says who is signed in, in which role; Vietnamese first.
        assert_eq!(b.text("[data-principal]").await, "maker:hoa");
        assert_eq!(b.text("[data-role]").await, "maker");
        assert!(b.source().await.contains("<html lang=\"vi\""));
        let batch = b.open_and_compute().await;
        let hash = b.text("#content-hash").await;
        assert_eq!(hash.len(), 64, "{hash}");
        // The review is the API's.
        let review = h.api("checker:tuan", &format!("/v1/batches/{batch}/review"));
        let count = review["totals"]["count"].as_u64().unwrap();
        assert!(count > 0);
        assert_eq!(
            b.text("#total-count").await.replace('.', ""),
            count.to_string()
        );
        // The maker's role has no approve button.
        assert!(b.client.find(Locator::Css("#approve")).await.is_err());
        b.sign_out().await;

        // The same person with a checker token: the ledger's four eyes refuse, with a message.
        b.sign_in(h.token("checker:hoa")).await;
        b.open(&format!("/batches/{batch}")).await;
        b.submit("#approve").await;
        let refusal = b.text("#message").await;
        assert!(
            refusal.contains("hoa") || refusal.contains("maker"),
            "{refusal}"
        );
        b.open(&format!("/batches/{batch}")).await;
        assert_eq!(b.text("#approved-by").await, "—");
        b.sign_out().await;

        // A different person approves exactly what the page showed, then releases.
        b.sign_in(h.token("checker:tuan")).await;
        b.open(&format!("/batches/{batch}")).await;
        assert_eq!(b.text("#content-hash").await, hash);
        b.screenshot("batch-review").await;
        b.submit("#approve").await;
        b.wait_for_text("id=\"approved-by\">checker:tuan<").await;
        b.submit("#release").await;
        b.wait_for_text("data-status=\"released\"").await;
        let view = h.api("checker:tuan", &format!("/v1/batches/{batch}"));
        assert_eq!(view["approved_by"], "checker:tuan");
        assert_eq!(view["status"], "released");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_posted_without_its_csrf_token_is_refused_in_the_browser() {
    with_browser(|h, b| async move {
        b.sign_in(h.token("maker:hoa")).await;
        let before = h.api("auditor:minh", "/v1/chain")["records"].clone();
        b.fill_open_batch().await;
        // A forged page would not know the token: take it out of the form.
        b.client
            .execute(
                "document.querySelector('#open-batch input[name=csrf]').remove()",
                vec![],
            )
            .await
            .unwrap();
        b.submit("#open-batch").await;
        assert!(b.text("#message").await.contains("CSRF"));
        assert_eq!(h.api("auditor:minh", "/v1/chain")["records"], before);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payout_chart_shows_one_bar_per_month_with_the_apis_totals() {
    with_browser(|h, b| async move {
        b.sign_in(h.token("checker:tuan")).await;
        b.wait_for_text("id=\"chart-payouts\"").await;
        b.screenshot("overview").await;
        b.open("/overview?month=2024-08").await;
        let bars = b
            .client
            .find_all(Locator::Css("#chart-payouts g.bar"))
            .await
            .unwrap();
        assert_eq!(bars.len(), 12, "one bar per month");
        let mut paid_months = 0;
        for bar in bars {
            let label = bar.attr("data-label").await.unwrap().unwrap();
            let total: i64 = bar
                .attr("data-total")
                .await
                .unwrap()
                .unwrap()
                .parse()
                .unwrap();
            // 08/2024 -> 2024-08
            let (mm, yyyy) = label.split_once('/').unwrap();
            let api = h.api("checker:tuan", &format!("/v1/payouts?month={yyyy}-{mm}"));
            assert_eq!(
                total,
                api["payout"]["totals"]["sum"].as_i64().unwrap(),
                "{label}"
            );
            if total > 0 {
                paid_months += 1;
            }
        }
        assert_eq!(paid_months, 3, "the demo paid June, July and August 2024");
        let last = b
            .client
            .find_all(Locator::Css("#chart-payouts g.bar"))
            .await
            .unwrap();
        assert_eq!(
            last[11].attr("data-label").await.unwrap().as_deref(),
            Some("08/2024")
        );
        // The charts themselves, scrolled to by their id.
        b.open("/overview?month=2024-08#chart-payouts").await;
        b.find("#chart-payouts").await;
        b.screenshot("charts").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_sees_only_its_own_files_and_not_another_banks_by_url() {
    with_browser(|h, b| async move {
        let all = h.api("checker:tuan", "/v1/files?limit=500");
        let files = all["items"].as_array().unwrap();
        let of = |bin: &str| -> Vec<String> {
            files
                .iter()
                .filter(|f| f["channel"]["bin"] == bin)
                .map(|f| format!("F{}", f["id"].as_u64().unwrap()))
                .collect()
        };
        let (own, other) = (of("970436"), of("970418"));
        assert!(!own.is_empty() && !other.is_empty());
        b.sign_in(h.token("bank:970436")).await;
        b.wait_for_text("id=\"files\"").await;
        b.screenshot("bank-files").await;
        let rows = b
            .client
            .find_all(Locator::Css("#files tbody tr"))
            .await
            .unwrap();
        let mut shown = Vec::new();
        for r in rows {
            shown.push(r.attr("data-file").await.unwrap().unwrap());
        }
        shown.sort();
        let mut expected = own.clone();
        expected.sort();
        assert_eq!(shown, expected, "exactly the bank's own files");
        // Its own file opens; another bank's is "not found", like a file that does not exist.
        b.open(&format!("/files/{}", own[0])).await;
        assert!(b.text("#channel").await.contains("970436"));
        b.open(&format!("/files/{}", other[0])).await;
        let theirs = b.text("#message").await;
        b.open("/files/F999999").await;
        assert_eq!(b.text("#message").await, theirs);
        // Nor can it download one by posting the form itself.
        b.open(&format!("/files/{}", own[0])).await;
        b.client
            .execute(
                &format!(
                    "document.querySelector('#download').action = '/files/{}/download'",
                    other[0]
                ),
                vec![],
            )
            .await
            .unwrap();
        b.submit("#download").await;
        assert_eq!(b.text("#message").await, theirs);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officers_search_shows_the_person_and_an_auditors_masks_the_citizen_id() {
    with_browser(|h, b| async move {
        let person = h.api("officer:lan", "/v1/beneficiaries/B1");
        let name = person["identity"]["full_name"].as_str().unwrap().to_owned();
        let id = person["identity"]["citizen_id"]
            .as_str()
            .unwrap()
            .to_owned();
        for (who, shown) in [
            ("officer:lan", id.clone()),
            ("auditor:minh", format!("{}******{}", &id[..3], &id[9..])),
        ] {
            b.sign_in(h.token(who)).await;
            b.open("/people").await;
            b.find("#q").await.send_keys(&name).await.unwrap();
            b.submit("#search").await;
            b.find("#hits a[href='/people/B1']")
                .await
                .click()
                .await
                .unwrap();
            b.wait_for_text("id=\"citizen-id\"").await;
            assert_eq!(b.text("#name").await, name, "{who}");
            assert_eq!(b.text("#citizen-id").await, shown, "{who}");
            if who == "officer:lan" {
                b.screenshot("person").await;
            }
            // By citizen ID too.
            b.open(&format!("/people?q={id}")).await;
            b.find("#hits a[href='/people/B1']").await;
            b.sign_out().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_verifies_the_chain_and_reads_a_payments_proof() {
    with_browser(|h, b| async move {
        b.sign_in(h.token("auditor:minh")).await;
        b.open("/audit").await;
        let records = h.api("auditor:minh", "/v1/chain")["records"]
            .as_u64()
            .unwrap();
        assert_eq!(b.text("#records").await, records.to_string());
        assert!(b.text("#checkpoint").await.contains(&records.to_string()));
        // The verification runs in the background; its page reloads itself with the progress
        // until the result is in.
        b.submit("#verify").await;
        b.wait_for_text("id=\"verified\"").await;
        assert!(b.find("#verified.ok").await.text().await.is_ok());
        let chain = h.api("auditor:minh", "/v1/chain");
        assert_eq!(
            b.text("#verified-records").await,
            chain["records"].to_string()
        );
        assert_eq!(b.text("#head-seq").await, chain["head_seq"].to_string());
        assert_eq!(
            b.text("#head-hash").await,
            chain["head_hash"].as_str().unwrap()
        );
        // Every checkpoint the chain records (the API lists the newest, seq for recorded ones).
        let listed = h.api("auditor:minh", "/v1/proofs/checkpoints?limit=100")["checkpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["seq"].is_u64())
            .count();
        assert_eq!(b.text("#checkpoints-checked").await, listed.to_string());
        b.screenshot("verification").await;
        b.open("/audit").await;
        b.find("#payment").await.send_keys("P1").await.unwrap();
        b.submit("#proof-form").await;
        b.wait_for_text("id=\"proof\"").await;
        let api = h.api("auditor:minh", "/v1/payments/P1/proof");
        let proof = b.text("#proof").await;
        assert!(proof.contains(api["root"].as_str().unwrap()), "{proof}");
        b.screenshot("audit").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checker_signs_in_and_approves_with_the_keyboard_only_and_sees_where_the_focus_is() {
    with_browser(|h, b| async move {
        // The maker computes September's batch (with the mouse).
        b.sign_in(h.token("maker:hoa")).await;
        let batch = b.open_and_compute().await;
        b.sign_out().await;

        // The checker: keys only. The token field has the focus when the page opens.
        b.open("/sign-in").await;
        b.wait_for_focus("#token").await;
        b.press(&format!("{}{ENTER}", h.token("checker:tuan")))
            .await;
        b.wait_for_text("data-principal=\"checker:tuan\"").await;
        b.tab_to("nav a[href='/batches']").await;
        b.press(ENTER).await;
        b.wait_for_text("id=\"batches\"").await;
        b.tab_to(&format!("#batches a[href='/batches/{batch}']"))
            .await;
        b.press(ENTER).await;
        b.wait_for_text("id=\"approve\"").await;
        b.tab_to("#approve button").await;
        // The focus is visible: the :focus-visible outline is drawn around the button.
        let ring = b
            .client
            .execute(
                "const e = document.activeElement, s = getComputedStyle(e); \
                 return [e.matches(':focus-visible'), s.outlineStyle, s.outlineWidth];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(ring[0], Value::Bool(true), "{ring}");
        assert_eq!(ring[1], "solid", "{ring}");
        assert_eq!(ring[2], "3px", "{ring}");
        b.press(ENTER).await;
        b.wait_for_text("id=\"approved-by\">checker:tuan<").await;
        let view = h.api("checker:tuan", &format!("/v1/batches/{batch}"));
        assert_eq!(view["status"], "approved");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_uploads_a_status_report_and_sees_each_lines_result_and_the_break() {
    use chitra::formats::bank::{self, IsoDateTime, Outcome};
    with_browser(|h, b| async move {
        // The bank's latest pain.001 file, and a report on it: its first line settled, its
        // second settled for an amount other than the file's (a break), then a line it was
        // never sent (which a bank may not report: the whole report is refused).
        let files = h.api("bank:970436", "/v1/files?limit=500");
        let file = files["items"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|f| f["format"] == "pain001_v09")
            .map(|f| format!("F{}", f["id"].as_u64().unwrap()))
            .expect("a pain.001 of bank 970436");
        let pain001 = h.bytes("checker:tuan", &format!("/v1/files/{file}/content"));
        let created = IsoDateTime::parse("2024-09-05T10:00:00+07:00").unwrap();
        let (report, lines) =
            bank::simulate_for_pain001(&pain001, "STS-BROWSER-1", created, |_| Outcome::Settled)
                .unwrap();
        assert!(
            lines.len() >= 2,
            "the demo pays several people through 970436"
        );
        let mut two = lines[..2].to_vec();
        two[1].amount = chitra::domain::types::Vnd(two[1].amount.0 + 1_000);
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("report.xml");
        std::fs::write(&good, bank::simulate_pain002(&report, &two)).unwrap();
        let mut unknown = two[0].clone();
        unknown.end_to_end_id = "P999999".into();
        let bad_report = bank::SimulatedReport {
            message_id: "STS-BROWSER-2".into(),
            ..report.clone()
        };
        let bad = dir.path().join("unknown.xml");
        std::fs::write(
            &bad,
            bank::simulate_pain002(&bad_report, &[two[0].clone(), unknown]),
        )
        .unwrap();

        b.sign_in(h.token("bank:970436")).await;
        b.wait_for_text("id=\"upload\"").await;
        let before = h.api("auditor:minh", "/v1/chain")["records"].clone();
        b.find("#report")
            .await
            .send_keys(bad.to_str().unwrap())
            .await
            .unwrap();
        b.submit("#upload").await;
        assert!(b.text("#message").await.contains("lines[1]"));
        assert_eq!(h.api("auditor:minh", "/v1/chain")["records"], before);

        b.open("/files").await;
        b.find("#report")
            .await
            .send_keys(good.to_str().unwrap())
            .await
            .unwrap();
        b.submit("#upload").await;
        b.wait_for_text("id=\"lines\"").await;
        let rows = b
            .client
            .find_all(Locator::Css("#lines tbody tr"))
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        for (row, line) in rows.iter().zip(&two) {
            let text = row.text().await.unwrap();
            assert!(text.contains(&line.end_to_end_id), "{text}");
            assert!(text.contains("Đã chi"), "{text}");
        }
        let breaks = b.text("#breaks").await;
        assert!(breaks.contains("amount mismatch"), "{breaks}");
        assert_eq!(
            b.client
                .find_all(Locator::Css("#breaks li"))
                .await
                .unwrap()
                .len(),
            1
        );
    })
    .await;
}
