//! A simulator per test and a webhook receiver that records what it gets.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use midtrans_simulator::{RunningSimulator, Simulator, SimulatorConfig};
use serde_json::{json, Value};

pub const SERVER_KEY: &str = "SB-Mid-server-TEST";

pub struct TestSimulator {
    pub sim: RunningSimulator,
    pub http: reqwest::Client,
}

pub async fn spawn_simulator(configure: impl FnOnce(&mut SimulatorConfig)) -> TestSimulator {
    let mut config = SimulatorConfig::new(SERVER_KEY);
    configure(&mut config);
    let sim = Simulator::start(config).await.expect("simulator starts");
    TestSimulator {
        sim,
        http: reqwest::Client::new(),
    }
}

pub fn qris_charge(order_id: &str, gross_amount: i64) -> Value {
    json!({
        "payment_type": "qris",
        "transaction_details": {"order_id": order_id, "gross_amount": gross_amount},
        "qris": {"acquirer": "gopay"},
    })
}

impl TestSimulator {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    pub fn charge_request(&self, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/v2/charge"))
            .basic_auth(SERVER_KEY, Some(""))
            .json(body)
    }

    /// Sends a charge; answers the HTTP status and body.
    pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("simulator answers");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.expect("JSON answer");
        (status, body)
    }

    pub async fn charge(&self, order_id: &str, gross_amount: i64) -> (u16, Value) {
        Self::send(self.charge_request(&qris_charge(order_id, gross_amount))).await
    }

    pub async fn status(&self, order_id: &str) -> (u16, Value) {
        Self::send(
            self.http
                .get(self.url(&format!("/v2/{order_id}/status")))
                .basic_auth(SERVER_KEY, Some("")),
        )
        .await
    }

    pub async fn control(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.post(self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::send(request).await
    }
}

/// A webhook that records every body and answers from a script, then 200.
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Value>>>,
    _server: actix_web::dev::ServerHandle,
}

pub async fn spawn_receiver(answers: &[u16]) -> Receiver {
    let received = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(
        answers.iter().copied().collect::<VecDeque<u16>>(),
    ));
    let (recorded, script_for_app) = (Arc::clone(&received), Arc::clone(&script));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let port = listener.local_addr().expect("receiver address").port();
    let server = HttpServer::new(move || {
        let recorded = Arc::clone(&recorded);
        let script = Arc::clone(&script_for_app);
        App::new().route(
            "/webhook/midtrans",
            web::post().to(move |body: web::Json<Value>| {
                let recorded = Arc::clone(&recorded);
                let script = Arc::clone(&script);
                async move {
                    recorded.lock().unwrap().push(body.into_inner());
                    let status = script.lock().unwrap().pop_front().unwrap_or(200);
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .finish()
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("receiver listens")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Receiver {
        url: format!("http://127.0.0.1:{port}/webhook/midtrans"),
        received,
        _server: handle,
    }
}

impl Receiver {
    pub fn received(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` notifications arrived (background retries).
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {n} notifications, got {}", self.received().len());
    }
}

/// Whether `body` carries the signature Midtrans would compute for it with `key`.
pub fn correctly_signed(body: &Value, key: &str) -> bool {
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    body["signature_key"].as_str()
        == Some(
            midtrans_simulator::signature_key(
                &field("order_id"),
                &field("status_code"),
                &field("gross_amount"),
                key,
            )
            .as_str(),
        )
}
