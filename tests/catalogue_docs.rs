//! The documents derive from the one scheme catalogue (`rules::catalogue::SCHEMES`): the
//! scheme table of docs/rules.md §4 and the roster's scheme table in docs/roster-csv.md are
//! exactly what the catalogue says, row for row. On a mismatch the test prints the table to
//! paste.

use chitra::domain::rules::catalogue::{Injury, Scheme, SCHEMES};
use chitra::formats::roster;

fn doc(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn or_dash(parts: Vec<String>) -> String {
    if parts.is_empty() {
        "—".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The decision parameters of a scheme, as docs/rules.md names them.
fn rules_params(s: &Scheme) -> String {
    let p = s.params;
    let mut out = Vec::new();
    match p.injury {
        Injury::Required(lo, hi) => out.push(format!("`InjuryRatePct({lo}–{hi})` required")),
        Injury::Optional(lo, hi) => out.push(format!("`InjuryRatePct({lo}–{hi})`")),
        Injury::None => {}
    }
    if p.especially_severe {
        out.push("`EspeciallySevere`".into());
    }
    if p.children {
        out.push("`Children(n)` required".into());
    }
    if p.parent {
        out.push("`Pregnant` and/or `Children(n)` required".into());
    }
    if p.martyrs {
        out.push("`Martyrs(n)` required".into());
    }
    if p.seniority {
        out.push("`SeniorityUnits(n)`".into());
    }
    if p.living_alone {
        out.push("`LivingAlone`".into());
    }
    if p.carer {
        out.push("`CarerOf(B…)`".into());
    }
    or_dash(out)
}

fn rules_table() -> String {
    let mut t = String::from(
        "| scheme | programme | paid | parameters | payee | clause |\n|---|---|---|---|---|---|\n",
    );
    for s in SCHEMES {
        t.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            s.code(),
            s.programme,
            if s.one_off { "once" } else { "monthly" },
            rules_params(s),
            if s.params.payee_required {
                "required"
            } else {
                "—"
            },
            s.clause
        ));
    }
    t
}

fn roster_table() -> String {
    let mut t =
        String::from("| Scheme | Programme | Required | Also allowed |\n|---|---|---|---|\n");
    for s in roster::schemes() {
        let p = s.params;
        let mut required = Vec::new();
        let mut allowed = Vec::new();
        match p.injury {
            Injury::Required(lo, hi) => required.push(format!("`injury_rate` ({lo}–{hi})")),
            Injury::Optional(lo, hi) => allowed.push(format!("`injury_rate` ({lo}–{hi})")),
            Injury::None => {}
        }
        if p.children {
            required.push(format!("`children` (1–{})", roster::CHILDREN_MAX));
        }
        if p.parent {
            required.push(format!(
                "`children` (1–{}) and/or `pregnant`",
                roster::CHILDREN_MAX
            ));
        }
        if p.martyrs {
            required.push(format!("`martyrs` (1–{})", roster::MARTYRS_MAX));
        }
        if p.payee_required {
            required.push("`cared_for` (the household's row)".into());
        }
        if p.especially_severe {
            allowed.push("`especially_severe` (rate ≥ 81)".into());
        }
        if p.seniority {
            allowed.push("`seniority_units`".into());
        }
        if p.living_alone {
            allowed.push("`living_alone`".into());
        }
        if chitra::domain::rules::catalogue::Params::social_flags(s.programme) {
            allowed.push("social flags".into());
        }
        t.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            s.code(),
            s.programme,
            or_dash(required),
            or_dash(allowed)
        ));
    }
    t
}

#[test]
fn docs_rules_md_lists_the_catalogue() {
    let expected = rules_table();
    assert!(
        doc("rules.md").contains(&expected),
        "docs/rules.md §4 must hold this table:\n{expected}"
    );
}

#[test]
fn docs_roster_csv_md_lists_the_roster_schemes() {
    let expected = roster_table();
    assert!(
        doc("roster-csv.md").contains(&expected),
        "docs/roster-csv.md must hold this table:\n{expected}"
    );
}
