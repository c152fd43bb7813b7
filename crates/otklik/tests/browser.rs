//! The agents' working day in real Chromium, driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`; `./scripts/test` installs them): `otklik serve` on an empty data
//! directory, the admin signs in with the password it printed, makes an API token and three
//! people who set their passwords with their links; a complaint arrives in an open inbox without
//! a reload; the agent replies publicly from a template, sees the checker flag a blaming sentence
//! as they type and the fixed reply pass; a task is done by the executor; a manager approves the
//! compensation; the case is resolved; the interface switches to Ukrainian and to English. Every
//! page is saved as a screenshot under `target/screenshots/`.
//!
//! Without chromedriver the test says so and passes, except under CI, where it fails.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_otklik");
const WAIT: Duration = Duration::from_secs(20);

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// chromedriver on a free port, once it answers; none when it is not installed (outside CI).
fn chromedriver() -> Option<(Running, String)> {
    let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists());
    let Some(driver) = driver else {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "chromedriver is required under CI");
        eprintln!("chromedriver is not installed (apt-get install chromium chromium-driver): browser test skipped");
        return None;
    };
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let running = Running(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((running, format!("http://127.0.0.1:{port}")));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not start");
}

/// `otklik serve` on an empty data directory: its address and the admin's first password, as
/// printed.
fn serve(data_dir: &std::path::Path) -> (Running, String, String) {
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start otklik serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.split("listening on ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let sign_in = lines.next().unwrap().unwrap();
    assert_eq!(sign_in, format!("Sign in at {base}/login"));
    let password_line = lines.next().unwrap().unwrap();
    let password = password_line.split("with password `").nth(1).unwrap().split('`').next().unwrap().to_owned();
    std::thread::spawn(move || for _ in lines {});
    (Running(child), base, password)
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One person's browser.
struct Browser {
    client: Client,
    base: String,
}

impl Browser {
    async fn open(driver: &str, base: &str, language: &str) -> Browser {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                // No background networking: on a machine without the internet Chromium's own
                // connections would be refused, many at a time.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--window-size=1280,1000", format!("--lang={language}")],
                "prefs": {"intl.accept_languages": language}
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client =
            ClientBuilder::new(connector).capabilities(capabilities).connect(driver).await.expect("a Chromium session");
        Browser { client, base: base.to_owned() }
    }

    async fn go(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    async fn find(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(error) => {
                self.shoot("failure").await;
                let html = self.html().await;
                panic!("`{css}` never appeared on {} ({error}):\n{html}", self.url().await)
            }
        }
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Sets a field's value directly (a date field types differently in every locale).
    async fn set(&self, css: &str, value: &str) {
        self.find(css).await;
        self.client
            .execute("document.querySelector(arguments[0]).value = arguments[1];", vec![json!(css), json!(value)])
            .await
            .unwrap();
    }

    async fn choose(&self, css: &str, value: &str) {
        self.find(css).await.select_by_value(value).await.unwrap();
    }

    /// Clicks something that stays on the page (a checkbox, a disclosure).
    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Clicks a link or a submit button and waits for the next page to load, so that nothing
    /// is looked for on the page being left.
    async fn follow(&self, css: &str) {
        self.client.execute("window.otklikLeaving = true;", vec![]).await.unwrap();
        self.find(css).await.click().await.unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let loaded = self
                .client
                .execute("return !window.otklikLeaving && document.readyState === 'complete';", vec![])
                .await;
            if matches!(loaded, Ok(Value::Bool(true))) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "clicking `{css}` led nowhere");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn html(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// Waits until the page's HTML contains `text`.
    async fn wait_for_text(&self, text: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if self.html().await.contains(text) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "`{text}` never appeared on {}", self.url().await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    /// Saves a screenshot of the page and runs the accessibility check on it.
    async fn shoot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
        if name != "failure" {
            self.check_accessibility(name).await;
        }
    }

    /// axe-core's WCAG 2 A and AA rules (labels, names, contrast, structure) on the page: no
    /// violation. axe-core comes from npm (`./scripts/test` puts it under `target/axe`); without
    /// it the check is skipped, except under CI.
    async fn check_accessibility(&self, name: &str) {
        if let Some(violations) = self.accessibility_violations().await {
            assert_eq!(violations, json!([]), "accessibility violations on {name}");
        }
    }

    /// What axe-core finds on the page; none when axe-core is missing (outside CI).
    async fn accessibility_violations(&self) -> Option<Value> {
        let path = std::env::var("OTKLIK_AXE_JS").map(PathBuf::from).unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/axe/node_modules/axe-core/axe.min.js")
        });
        let Ok(axe) = std::fs::read_to_string(&path) else {
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "axe-core is required under CI: {}", path.display());
            eprintln!("axe-core is not at {}: accessibility check skipped", path.display());
            return None;
        };
        self.client.execute(&format!("{axe}\nwindow.axe = axe; return true;"), vec![]).await.unwrap();
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } })
                   .then((result) => done(result.violations.map((v) => ({
                     id: v.id, impact: v.impact, help: v.help,
                     nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))))
                   .catch((error) => done([{ id: 'axe-failed', help: String(error) }]));",
                vec![],
            )
            .await
            .unwrap();
        Some(violations)
    }

    async fn sign_in(&self, username: &str, password: &str) {
        self.go("/login").await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.follow("form[action='/login'] button[type=submit]").await;
        self.find("#content h1").await;
        assert!(self.url().await.ends_with("/inbox"), "{username} lands in the inbox");
    }

    /// Takes a playbook action from the case page, with its inputs already filled by `inputs`.
    async fn take(&self, action: &str) {
        self.follow(&format!("form[action$='/actions/{action}'] button[type=submit]")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_day_in_the_browser() {
    let Some((_driver, driver)) = chromedriver() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_server, base, first_password) = serve(dir.path());

    // The admin signs in with the printed password, makes a token for the web form and three people.
    let admin = Browser::open(&driver, &base, "ru").await;
    admin.go("/login").await;
    admin.shoot("login").await;
    // The check can fail: an input without a label is a violation.
    admin
        .client
        .execute("document.body.insertAdjacentHTML('beforeend', '<input id=unlabelled>');", vec![])
        .await
        .unwrap();
    if let Some(violations) = admin.accessibility_violations().await {
        assert!(violations.to_string().contains("label"), "axe-core sees an unlabelled input: {violations}");
    }
    admin.sign_in("admin", &first_password).await;
    admin.go("/tokens").await;
    admin.fill("#token-name", "web form").await;
    admin.choose("#token-role", "intake").await;
    admin.follow("form[action='/tokens'] button[type=submit]").await;
    let token = admin.find("#new-token").await.prop("value").await.unwrap().unwrap();
    assert!(token.starts_with("otk_"));
    let password = "a long and secret one";
    for (username, role) in [("anna", "agent"), ("ivan", "executor"), ("maria", "manager")] {
        admin.go("/people").await;
        admin.fill("#new-username", username).await;
        admin.choose("#new-role", role).await;
        admin.follow("form[action='/people'] button[type=submit]").await;
        let link = admin.find("#new-link").await.prop("value").await.unwrap().unwrap();
        if username == "maria" {
            admin.shoot("people").await;
        }
        admin.client.goto(&link).await.unwrap();
        admin.fill("#password", password).await;
        admin.fill("#repeat", password).await;
        admin.follow("button[type=submit]").await;
        admin.find("p.ok, .done, main p").await;
    }

    // The agent has the inbox open; a complaint arrives and appears without a reload.
    let agent = Browser::open(&driver, &base, "ru").await;
    agent.sign_in("anna", password).await;
    agent.client.execute("window.otklikNotReloaded = true;", vec![]).await.unwrap();
    let response: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/feedback"))
        .bearer_auth(&token)
        .json(&json!({
            "text": "Вчера курьер опоздал на два часа, пицца была холодной. Безобразие!",
            "kind": "complaint",
            "public": true,
            "channel": "social",
            "customer": {"name": "Ольга", "handle": "@olga"}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reference = response["reference"].as_str().unwrap_or_else(|| panic!("{response}")).to_owned();
    agent.find(&format!("tr[data-case='{reference}']")).await;
    let same_page = agent.client.execute("return window.otklikNotReloaded === true;", vec![]).await.unwrap();
    assert_eq!(same_page, json!(true), "the case appeared without a reload");
    agent.shoot("inbox").await;

    // A public reply from a template: the checker flags a blaming sentence as the agent types,
    // and the fixed reply passes.
    agent.follow(&format!("a[href='/cases/{reference}']")).await;
    agent.click(".composer details summary").await;
    agent.follow("a[data-template='0']").await;
    let template = agent.find("#reply-body").await.prop("value").await.unwrap().unwrap();
    assert!(template.contains("Ольга"), "the template is in the composer, with the name: {template}");
    let fixed = "Ольга, здравствуйте! Приносим извинения за опоздание курьера и холодную пиццу — это наша ошибка. \
                 Мы связались с вами в личных сообщениях, чтобы уточнить детали. Мы уже проверяем, что произошло, \
                 исправим это и сообщим вам результат сегодня до 18:00.";
    agent.fill("#reply-body", &format!("{fixed} Но вы сами виноваты, что не открыли дверь курьеру.")).await;
    agent.find("#findings li.error").await;
    agent.shoot("case-reply-flagged").await;
    agent.fill("#reply-body", fixed).await;
    agent.find("#findings p.ok").await;
    assert!(!agent.html().await.contains("class=\"error\""), "the fixed reply passes");
    assert_eq!(agent.find("#reply-public").await.prop("checked").await.unwrap().as_deref(), Some("true"));
    agent.follow("#reply-form button[type=submit]").await;
    agent.wait_for_text("сообщим вам результат сегодня до 18:00").await;

    // The playbook's steps; a task for the executor.
    // The apology in two forms: a call (a task with a time, for the agent) and a handwritten letter.
    agent.click("form[action$='/actions/acknowledge'] input[name=apology_form][value=call]").await;
    agent.click("form[action$='/actions/acknowledge'] input[name=apology_form][value=handwritten_letter]").await;
    agent
        .fill(
            "form[action$='/actions/acknowledge'] textarea[name=note]",
            "Ольга, приносим извинения. Позвоним вам сегодня до 18:00.",
        )
        .await;
    agent.click("form[action$='/actions/acknowledge'] input[name=override]").await;
    agent.take("acknowledge").await;
    agent.wait_for_text("apology call").await;
    agent.wait_for_text("call, handwritten_letter").await;
    agent.follow("form[action^='/tasks/'] button[type=submit]").await;
    agent.take("start_work").await;
    agent.fill("#task-title", "Разобраться с опозданием курьера").await;
    agent.choose("#task-assignee", "ivan").await;
    agent.set("#task-due", "2030-01-01").await;
    agent.follow(".task-form button[type=submit]").await;
    agent.wait_for_text("Разобраться с опозданием курьера").await;

    let executor = Browser::open(&driver, &base, "ru").await;
    executor.sign_in("ivan", password).await;
    executor.go("/tasks").await;
    executor.wait_for_text("Разобраться с опозданием курьера").await;
    executor.shoot("tasks").await;
    executor.follow("button[name=status][value=done]").await;
    executor.wait_for_text("Задач нет.").await;
    assert!(!executor.html().await.contains("Разобраться с опозданием курьера"), "the done task left the list");

    // A refund above the agent's limit waits for a manager.
    agent.go(&format!("/cases/{reference}")).await;
    let offer = "form[action$='/actions/offer_solution']";
    agent.fill(&format!("{offer} textarea[name=note]"), "Ольга, вернём деньги за заказ сегодня до 18:00.").await;
    agent.choose(&format!("{offer} select[name=compensation_kind]"), "refund").await;
    agent.fill(&format!("{offer} input[name=compensation_amount]"), "1000000").await;
    agent.click(&format!("{offer} input[name=override]")).await;
    agent.take("offer_solution").await;
    agent.wait_for_text("ждёт одобрения").await;

    let manager = Browser::open(&driver, &base, "ru").await;
    manager.sign_in("maria", password).await;
    manager.go("/approvals").await;
    manager.wait_for_text(&reference).await;
    manager.shoot("approvals").await;
    manager.follow(&format!("a[href='/cases/{reference}#actions-title']")).await;
    manager.take("approve_compensation").await;
    manager.wait_for_text("одобрена").await;

    // The customer is asked and confirms; the case is resolved.
    agent.go(&format!("/cases/{reference}")).await;
    let ask = "form[action$='/actions/ask_if_resolved']";
    agent.fill(&format!("{ask} textarea[name=note]"), "Ольга, подскажите, всё ли теперь в порядке?").await;
    agent.click(&format!("{ask} input[name=override]")).await;
    agent.take("ask_if_resolved").await;
    agent.take("confirm_resolved").await;
    agent.wait_for_text("Решено").await;
    agent.shoot("case").await;
    // The satisfied customer goes to sales.
    manager.go("/opportunities").await;
    manager.wait_for_text("Клиент подтвердил").await;
    manager.shoot("opportunities").await;

    // The reports: this month's figures, charts drawn as SVG with their numbers a click away,
    // in each language and on a phone.
    manager.go("/reports").await;
    manager.wait_for_text("Главные показатели").await;
    manager.find("#chart-kinds svg").await;
    manager.click("#chart-kinds details summary").await;
    manager.wait_for_text("Жалоба").await;
    manager.shoot("reports-ru").await;
    manager.client.set_window_size(390, 844).await.unwrap();
    manager.shoot("reports-phone").await;
    manager.client.set_window_size(1280, 1000).await.unwrap();
    for (language, word) in [("uk", "Головні показники"), ("en", "Headline figures")] {
        manager.go("/settings").await;
        manager.choose("#language", language).await;
        manager.follow("form[action='/settings'] button[type=submit]").await;
        manager.go("/reports").await;
        manager.wait_for_text(word).await;
        manager.shoot(&format!("reports-{language}")).await;
    }

    // On a phone-width screen.
    agent.client.set_window_size(390, 844).await.unwrap();
    agent.go("/inbox?all=1").await;
    agent.shoot("inbox-phone").await;
    agent.go(&format!("/cases/{reference}")).await;
    agent.shoot("case-phone").await;
    agent.client.set_window_size(1280, 1000).await.unwrap();

    // The interface in Ukrainian, then in English.
    for (language, word) in [("uk", "Налаштування"), ("en", "Settings")] {
        agent.go("/settings").await;
        agent.choose("#language", language).await;
        agent.follow("form[action='/settings'] button[type=submit]").await;
        agent.wait_for_text(word).await;
        let lang = agent.find("html").await.attr("lang").await.unwrap();
        assert_eq!(lang.as_deref(), Some(language));
        agent.shoot(&format!("settings-{language}")).await;
    }
    agent.go("/inbox?all=1").await;
    agent.wait_for_text("Inbox").await;
    agent.shoot("inbox-en").await;

    // The manager gives an e-mail address for the weekly digest.
    manager.go("/settings").await;
    manager.fill("#email", "olga.manager@example.com").await;
    manager.follow("form[action='/settings'] button[type=submit]").await;
    manager.wait_for_text("olga.manager@example.com").await;

    // The customer asks to be forgotten: the admin downloads what is stored about them, then
    // erases it; the case stays, its customer without a name or contacts.
    admin.go(&format!("/cases/{reference}")).await;
    admin.click(".customer details:last-of-type summary").await;
    admin.find(&format!("a[href='/cases/{reference}/customer/export']")).await;
    admin.shoot("customer-personal-data").await;
    admin.click(&format!("form[action='/cases/{reference}/customer/erase'] input[name=confirm]")).await;
    admin.follow(&format!("form[action='/cases/{reference}/customer/erase'] button[type=submit]")).await;
    admin.wait_for_text("erased-").await;
    assert!(!admin.html().await.contains("@olga"), "the customer's handle is gone from the case page");

    for browser in [admin, agent, executor, manager] {
        browser.client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_writes_in_the_complaint_book_on_a_phone() {
    let Some((_driver, driver)) = chromedriver() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_server, base, _) = serve(dir.path());
    let added = Command::new(BINARY)
        .args(["location", "add", "--name", "Тверская, 12", "--slug", "tverskaya", "--time-zone", "Europe/Moscow"])
        .args(["--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let customer = Browser::open(&driver, &base, "ru").await;
    customer.client.set_window_size(390, 844).await.unwrap();
    for (language, words) in [("ru", "Книга жалоб"), ("uk", "Книга скарг"), ("en", "Complaints and suggestions")]
    {
        customer.go(&format!("/f/tverskaya?lang={language}")).await;
        customer.wait_for_text(words).await;
        customer.shoot(&format!("book-{language}")).await;
    }
    customer.go("/f/tverskaya").await;
    customer.fill("#text", "Заказ привезли на час позже, суп остыл.").await;
    customer.choose("#kind", "complaint").await;
    customer.fill("#name", "Ольга").await;
    customer.fill("#phone", "+7 916 123 45 67").await;
    // A person takes more than the form's minimum fill time.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    customer.follow("form.book button[type=submit]").await;
    let received = customer.find(".received").await.text().await.unwrap();
    assert!(received.contains("Ольга") && received.contains("OT-"), "the acknowledgement: {received}");
    assert!(customer.url().await.contains("/s/"), "the status page");
    customer.shoot("status-received").await;
    customer.fill("#text", "Дверь в подъезде с кодом 12.").await;
    customer.follow("#write button[type=submit]").await;
    customer.wait_for_text("Дверь в подъезде с кодом 12.").await;
    customer.wait_for_text("Сообщение добавлено").await;
    customer.shoot("status-written").await;

    // The location's poster, as printed.
    customer.client.set_window_size(794, 1123).await.unwrap();
    customer.go("/f/tverskaya/poster.svg?lang=ru").await;
    customer.find("svg").await;
    let png = customer.client.screenshot().await.unwrap();
    std::fs::write(screenshots().join("poster.png"), png).unwrap();

    // The widget on a business's own site opens the form in a dialog.
    customer.client.set_window_size(1280, 900).await.unwrap();
    let site = shop_site(&format!(
        "<!doctype html><html lang=\"en\"><title>Shop</title><h1>Shop</h1>\
         <script src=\"{base}/f/widget.js\" data-location=\"tverskaya\" data-label=\"Feedback\"></script>"
    ))
    .await;
    customer.client.goto(&site).await.unwrap();
    customer.click("body > button").await;
    customer.find("dialog iframe").await;
    customer.client.clone().enter_frame(0).await.unwrap();
    customer.find("#text").await;
    customer.wait_for_text("Complaints and suggestions").await;
    customer.client.clone().enter_parent_frame().await.unwrap();
    let png = customer.client.screenshot().await.unwrap();
    std::fs::write(screenshots().join("widget.png"), png).unwrap();
    customer.client.close().await.unwrap();
}

/// A business's own site on another origin (another port): every request gets `page`.
async fn shop_site(page: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let page = page.to_owned();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    format!("http://{address}/")
}
