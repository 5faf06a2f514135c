//! The scheme codes as a type: one variant per scheme of the catalogue, each with its stable
//! string code. Events store the code as a string (old payloads must keep decoding); it is
//! parsed into `SchemeCode` at the edge (roster, HTTP, `decide`) and when the rules apply a
//! decision, so a code the catalogue does not know is found once, with a clear error.
//!
//! Codes are a contract (rosters, stored events and the API use them): variants may be added,
//! never renamed or removed.

use std::fmt;

macro_rules! scheme_codes {
    ($($variant:ident => $code:literal,)*) => {
        /// A scheme of the catalogue (`catalogue::SCHEMES` has one entry per variant, in this
        /// order).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum SchemeCode {
            $($variant,)*
        }

        impl SchemeCode {
            /// Every scheme, in catalogue order.
            pub const ALL: &'static [SchemeCode] = &[$(SchemeCode::$variant,)*];

            /// The stable string code, e.g. `ncc.war_invalid`.
            pub const fn code(self) -> &'static str {
                match self {
                    $(SchemeCode::$variant => $code,)*
                }
            }
        }
    };
}

scheme_codes! {
    ChildNoSupport => "btxh.child_no_support",
    YouthStudying => "btxh.youth_studying",
    ChildHivPoor => "btxh.child_hiv_poor",
    SingleParentPoor => "btxh.single_parent_poor",
    ElderlyPoorAlone => "btxh.elderly_poor_alone",
    Elderly75DifficultArea => "btxh.elderly_75_difficult_area",
    Elderly80NoPension => "btxh.elderly_80_no_pension",
    ElderlyPoorCommunityCare => "btxh.elderly_poor_community_care",
    DisabilityEspeciallySevere => "btxh.disability_especially_severe",
    DisabilitySevere => "btxh.disability_severe",
    ChildUnder3DifficultArea => "btxh.child_under3_difficult_area",
    HivPoor => "btxh.hiv_poor",
    FuneralSupport => "btxh.funeral_support",
    CareAllowance => "btxh.care_allowance",
    DisabledParent => "btxh.disabled_parent",
    FosterHousehold => "btxh.foster_household",
    CommunityFosterCare => "btxh.community_foster_care",
    FacilityCare => "btxh.facility_care",
    FacilityDeath => "btxh.facility_death",
    SocialPension => "htxh.social_pension",
    ActivistPre1945 => "ncc.activist_pre1945",
    ActivistPreUprising => "ncc.activist_pre_uprising",
    SurvivorPre1945 => "ncc.survivor_pre1945",
    SurvivorPreUprising => "ncc.survivor_pre_uprising",
    MartyrRelative => "ncc.martyr_relative",
    MartyrSpouseRemarried => "ncc.martyr_spouse_remarried",
    HeroicMother => "ncc.heroic_mother",
    HeroicMotherCarer => "ncc.heroic_mother_carer",
    Hero => "ncc.hero",
    WarInvalid => "ncc.war_invalid",
    WarInvalidB => "ncc.war_invalid_b",
    WarInvalidCarer => "ncc.war_invalid_carer",
    InvalidSurvivor => "ncc.invalid_survivor",
    SickSoldier => "ncc.sick_soldier",
    SickSoldierCarer => "ncc.sick_soldier_carer",
    AgentOrange => "ncc.agent_orange",
    AgentOrangeCarer => "ncc.agent_orange_carer",
    AgentOrangeChild => "ncc.agent_orange_child",
    Imprisoned => "ncc.imprisoned",
    MedalPre1945 => "ncc.medal_pre1945",
    ResistanceHelper => "ncc.resistance_helper",
    Education => "ncc.education",
    EducationReduced => "ncc.education_reduced",
    DeathLumpSum => "ncc.death_lump_sum",
    Funeral => "ncc.funeral",
    ConvalescenceHome => "ncc.convalescence_home",
    ConvalescenceCentre => "ncc.convalescence_centre",
}

/// A code that names no scheme of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scheme {0:?}")]
pub struct UnknownScheme(pub String);

impl SchemeCode {
    /// The scheme with this code.
    pub fn parse(code: &str) -> Result<SchemeCode, UnknownScheme> {
        SchemeCode::ALL
            .iter()
            .copied()
            .find(|s| s.code() == code)
            .ok_or_else(|| UnknownScheme(code.to_owned()))
    }
}

impl fmt::Display for SchemeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for SchemeCode {
    type Err = UnknownScheme;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SchemeCode::parse(s)
    }
}

impl serde::Serialize for SchemeCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for SchemeCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SchemeCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_back_and_are_unique() {
        for (i, s) in SchemeCode::ALL.iter().enumerate() {
            assert_eq!(SchemeCode::parse(s.code()), Ok(*s));
            assert_eq!(*s as usize, i);
        }
        assert_eq!(
            SchemeCode::parse("ncc.war_invalids"),
            Err(UnknownScheme("ncc.war_invalids".into()))
        );
    }
}
