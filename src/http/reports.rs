//! The department's reads that are not a resource of their own: the scheme catalogue
//! (`GET /v1/schemes`), served from the one catalogue of the rules so that a client learns the
//! codes, parameters and clauses the ledger accepts from the ledger itself.

use axum::response::Response;
use serde::Serialize;

use super::support::ok;
use crate::domain::event::SchemeParam;
use crate::domain::rules::catalogue::{check_param, param_name, Injury, Scheme, SCHEMES};
use crate::domain::types::{BeneficiaryId, Programme};

/// One scheme of the catalogue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SchemeView {
    /// The stable code, e.g. `btxh.care_allowance`.
    pub code: &'static str,
    pub programme: Programme,
    /// `monthly` or `once`.
    pub paid: &'static str,
    /// The parameters a decision must give (`SchemeParam` names).
    pub required: Vec<&'static str>,
    /// The parameters a decision may give.
    pub allowed: Vec<&'static str>,
    /// The lowest and highest injury rate accepted, when the scheme takes one.
    pub injury_rate: Option<(u8, u8)>,
    /// The decision must name the household paid (a carer or foster household).
    pub payee_required: bool,
    /// A roster row can carry it (docs/roster-csv.md).
    pub in_roster: bool,
    /// The legal clause.
    pub clause: &'static str,
}

/// `GET /v1/schemes`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SchemeList {
    pub items: Vec<SchemeView>,
}

fn view(s: &Scheme) -> SchemeView {
    let p = s.params;
    let mut required = Vec::new();
    let mut allowed = Vec::new();
    let injury_rate = match p.injury {
        Injury::Required(lo, hi) => {
            required.push("InjuryRatePct");
            Some((lo, hi))
        }
        Injury::Optional(lo, hi) => {
            allowed.push("InjuryRatePct");
            Some((lo, hi))
        }
        Injury::None => None,
    };
    if p.children {
        required.push("Children");
    }
    if p.martyrs {
        required.push("Martyrs");
    }
    // What the rules accept, asked of the rules' own check.
    let optional = [
        SchemeParam::EspeciallySevere,
        SchemeParam::Children(1),
        SchemeParam::Pregnant,
        SchemeParam::SeniorityUnits(1),
        SchemeParam::LivingAlone,
        SchemeParam::CarerOf(BeneficiaryId(1)),
        SchemeParam::PoorHousehold,
        SchemeParam::DifficultArea,
        SchemeParam::Studying,
        SchemeParam::HasPension,
        SchemeParam::InFacility,
    ];
    for param in optional {
        let name = param_name(&param);
        if check_param(s, &param).is_ok() && !required.contains(&name) {
            allowed.push(name);
        }
    }
    SchemeView {
        code: s.code(),
        programme: s.programme,
        paid: if s.one_off { "once" } else { "monthly" },
        required,
        allowed,
        injury_rate,
        payee_required: p.payee_required,
        in_roster: s.in_roster(),
        clause: s.clause,
    }
}

/// The scheme catalogue: every scheme code the ledger accepts.
#[utoipa::path(
    get,
    path = "/v1/schemes",
    summary = "The scheme catalogue: codes, parameters, payee, clause",
    responses((status = 200, description = "every scheme", body = SchemeList)),
)]
pub async fn schemes() -> Response {
    ok(SchemeList {
        items: SCHEMES.iter().map(view).collect(),
    })
}
