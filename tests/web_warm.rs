//! The dashboard's warm-up (`http::web::warm`): a batch computed through the app has its review
//! kept before anyone opens its page, and that review is the one computed afresh from the
//! state; a page that asks while the review is being computed waits for that computation and
//! gets the same review; the search index, built by the warm-up, finds people enrolled after it
//! was built; the days the overview's calendar dates are read by the warm-up, and the calendar
//! from them is the API's.

mod common;

use std::sync::Arc;

use chitra::domain::types::Role;
use chitra::http::web::{reviews, warm};
use chitra::http::{AppState, Limits};
use common::http::{bank_route, computed_batch, enrol_body, tokens, Api};

/// An app with its warm-up running, as `chitra serve` runs it, and its state.
fn served() -> (Api, AppState) {
    let Api { dir, ledger, .. } = Api::new();
    let state = AppState::new(
        ledger.clone(),
        tokens(),
        Limits::default(),
        common::fixtures::settings(),
    );
    let app = chitra::http::app(state.clone());
    warm::start(&state);
    (Api { dir, ledger, app }, state)
}

async fn enrol_two(api: &Api) {
    for (id, account) in [("001185000001", "1500200000001"), ("001185000002", "22003")] {
        api.enrol(enrol_body(id, bank_route("970436", account)))
            .await;
    }
}

/// The newest batch's computation.
fn newest(api: &Api) -> reviews::Computation {
    api.ledger
        .read(|s| {
            let b = s.batches().last().expect("a batch");
            reviews::computation(s, b.opened.batch).expect("computed")
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_computed_through_the_app_has_its_review_kept_before_any_page_view() {
    let (api, state) = served();
    enrol_two(&api).await;
    // Computed over the API; nobody opens the batch's page.
    let (batch, _) = computed_batch(&api).await;
    warm::settled(&state).await;
    let key = newest(&api);
    assert_eq!(key.0.to_string(), batch);
    let kept = state
        .web
        .reviews
        .ready(key)
        .expect("the review was computed when the batch was");
    // The review kept is the one computed afresh from the state.
    let fresh = api
        .ledger
        .read(|s| reviews::reviewed(s, key))
        .unwrap()
        .expect("the batch is at that computation");
    assert_eq!(format!("{kept:?}"), format!("{fresh:?}"));
    assert_eq!(kept.review.totals.count, 2, "{kept:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_that_ask_while_a_review_is_computed_wait_for_that_one_computation() {
    let api = Api::new();
    enrol_two(&api).await;
    computed_batch(&api).await;
    let key = newest(&api);
    let cache = reviews::Reviews::default();
    assert!(cache.ready(key).is_none(), "nothing computed yet");
    // The warm-up starts it; two pages ask before it is done (or just after).
    cache.warm(&api.ledger, key);
    let (a, b) = tokio::join!(cache.of(&api.ledger, key), cache.of(&api.ledger, key));
    let (a, b) = (a.expect("a review"), b.expect("a review"));
    assert!(Arc::ptr_eq(&a, &b), "one computation, shared");
    assert!(Arc::ptr_eq(&a, &cache.ready(key).unwrap()));
    assert_eq!(cache.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_enrolled_after_the_index_was_built_is_found_by_search() {
    let (api, state) = served();
    enrol_two(&api).await;
    // The warm-up has built the index over the two.
    warm::settled(&state).await;
    let mut late = enrol_body("001185000009", bank_route("970436", "99001"));
    late["full_name"] = "Trần Văn Muộn".into();
    api.enrol(late).await;
    // Found whether the warm-up has caught up already or not.
    let found = api
        .get("/v1/beneficiaries?name=tran%20van%20muon", Role::Officer)
        .await
        .json();
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["full_name"], "Trần Văn Muộn");
    // And once it has.
    warm::settled(&state).await;
    let found = api
        .get("/v1/beneficiaries?name=muon", Role::Officer)
        .await
        .json();
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overviews_calendar_days_are_read_without_a_page_view_and_give_the_apis_calendar() {
    use chitra::app::reports::{calendar, PROGRAMMES};
    let (api, state) = served();
    common::http::paid_month(&api).await;
    warm::settled(&state).await;
    // Nobody opened the overview: the warm-up read the day of every record the calendar
    // dates (here the June batch's release).
    let needed: usize = api
        .ledger
        .read(|s| {
            PROGRAMMES
                .iter()
                .map(|p| chitra::domain::calendar::records_to_date(s, *p).len())
                .sum()
        })
        .unwrap();
    assert!(needed >= 1, "the release is dated");
    assert_eq!(state.web.days.kept().await, needed);
    // The calendar from the kept days is the one `GET /v1/calendar` computes afresh.
    let today = chitra::domain::types::Date::parse("2024-07-10").unwrap();
    let kept = state
        .web
        .days
        .calendars(&api.ledger, &PROGRAMMES, today)
        .await
        .unwrap();
    let fresh = calendar(&api.ledger, &PROGRAMMES, today).unwrap();
    assert_eq!(kept, fresh);
    assert!(
        kept.iter().any(|c| !c.late.is_empty() || c.next.is_some()),
        "{kept:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_built_a_few_lines_at_a_time_equals_one_built_at_once() {
    let api = Api::new();
    // June paid to three people; for July two more are enrolled, one of June's is held, and
    // one of the new ones shares an account with one of June's.
    let paid = common::http::paid_month(&api).await;
    api.enrol(enrol_body(
        "001185000007",
        bank_route("970418", "2200300000002"),
    ))
    .await;
    api.enrol(enrol_body("001185000009", bank_route("970418", "31000")))
        .await;
    let r = api
        .post(
            &format!("/v1/beneficiaries/{}/hold", paid.beneficiary),
            Role::Officer,
            serde_json::json!({ "note": "kiểm tra" }),
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.text());
    let r = api
        .open_batch("BTXH", "2024-07", common::fixtures::FUNDING_ACCOUNT)
        .await;
    assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.text());
    let july = r.json()["id"].as_str().unwrap().to_owned();
    let r = api
        .post(
            &format!("/v1/batches/{july}/compute"),
            Role::Maker,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.text());
    let key = newest(&api);
    let at_once = api
        .ledger
        .read(|s| reviews::reviewed(s, key))
        .unwrap()
        .expect("the batch is at that computation");
    // Something to compare: changes since June (new, stopped), an anomaly, someone left out.
    assert!(at_once.review.changes.len() >= 3, "{at_once:?}");
    assert!(!at_once.review.anomalies.is_empty(), "{at_once:?}");
    assert!(!at_once.left_out.is_empty(), "{at_once:?}");
    for step in [1, 2, 3, 1000] {
        let stepped = reviews::reviewed_in_steps(&api.ledger, key, step).expect("a review");
        assert_eq!(
            format!("{stepped:?}"),
            format!("{at_once:?}"),
            "step {step}"
        );
    }
    // A batch no longer at that computation has no review.
    let moved = (key.0, key.1 + 1, key.2);
    assert!(reviews::reviewed_in_steps(&api.ledger, moved, 1).is_none());
}
