//! `chitra figures` as text names every people figure its JSON has, with its value: both are
//! derived from `app::reports::PEOPLE_FIGURES`, and this checks the list against the JSON the
//! binary prints, so a figure added to one and not the other fails here.

mod common;

use std::collections::BTreeSet;

use chitra::app::reports::PEOPLE_FIGURES;
use common::bin::{chitra, chitra_ok};

#[test]
fn the_text_names_every_figure_the_json_has() {
    let dir = tempfile::tempdir().unwrap();
    {
        let l = common::open(dir.path());
        common::enrol(&l, 0, 12);
    }
    let json: serde_json::Value =
        serde_json::from_str(&chitra_ok(dir.path(), &["--json", "figures"]))
            .expect("the figures as JSON");
    let totals = json["totals"].as_object().expect("totals");
    let in_json: BTreeSet<&str> = totals.keys().map(String::as_str).collect();
    let in_list: BTreeSet<&str> = PEOPLE_FIGURES.iter().map(|p| p.key).collect();
    assert_eq!(
        in_json, in_list,
        "the JSON's people figures and the list differ"
    );
    let out = chitra(dir.path(), &["figures"]);
    assert!(out.status.success());
    let text = common::bin::stdout(&out);
    let enrolled = totals["enrolled"].as_u64().unwrap();
    assert_eq!(enrolled, 12);
    for p in &PEOPLE_FIGURES {
        let value = match &totals[p.key] {
            serde_json::Value::Object(by_reason) => {
                by_reason.values().map(|v| v.as_u64().unwrap()).sum()
            }
            v => v.as_u64().unwrap(),
        };
        let said = match p.of_enrolled {
            true => format!("{} {value} of {enrolled}", p.label),
            false => format!("{} {value}", p.label),
        };
        assert!(text.contains(&said), "the text lacks {said:?}:\n{text}");
    }
    let heading = PEOPLE_FIGURES
        .iter()
        .map(|p| p.column)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains(&format!("province commune programme: {heading}")),
        "{text}"
    );
    // Each table row has one value per figure.
    let row = text
        .lines()
        .find(|l| l.contains(" BTXH: ") || l.contains(" NCC: ") || l.contains(" HTXH: "))
        .unwrap_or_else(|| panic!("no table row:\n{text}"));
    let values = row.rsplit(": ").next().unwrap().split(' ').count();
    assert_eq!(values, PEOPLE_FIGURES.len(), "{row}");
}
