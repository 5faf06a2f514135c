//! `chitra-roster-gen`: writes a realistic synthetic roster of one province in the roster CSV
//! import format (`docs/roster-csv.md`), deterministic from the seed. The people are made by
//! `chitra::dev::synth`; this binary only parses arguments and opens the output.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use chitra::dev::synth::{self, Province};
use chitra::domain::types::ProvinceCode;
use chitra::formats::reference::Reference;

#[derive(Parser, Debug)]
#[command(
    name = "chitra-roster-gen",
    version,
    about = "Write a synthetic beneficiary roster (roster CSV format) for one province"
)]
struct Args {
    /// Seed: the same seed, persons and province give the same file, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of rows: persons, and the households caring for some of them (`cared_for`).
    #[arg(long, default_value_t = 10_000)]
    persons: u64,
    /// 2025 province code (2 digits), e.g. 01 Hà Nội, 79 Hồ Chí Minh.
    #[arg(long, default_value = synth::DEFAULT_PROVINCE)]
    province: String,
    /// Output file; standard output when omitted.
    #[arg(long)]
    out: Option<PathBuf>,
    /// List the 2025 province codes and names instead of writing a roster.
    #[arg(long)]
    list_provinces: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chitra-roster-gen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.list_provinces {
        for p in Reference::embedded().admin.provinces_2025() {
            println!("{}  {} ({} communes)", p.code, p.name, p.communes.len());
        }
        return Ok(());
    }
    let code = ProvinceCode::parse(&args.province)?;
    let province = Province::select(Reference::embedded(), code)?;
    if args.persons > province.unique_persons() {
        anyhow::bail!(
            "at most {} persons have distinct citizen IDs in one roster",
            province.unique_persons()
        );
    }
    match &args.out {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            write(BufWriter::new(file), &args, &province)?;
            eprintln!(
                "wrote {} persons of {} ({} communes) to {}",
                args.persons,
                province.name(),
                province.commune_count(),
                path.display()
            );
        }
        None => write(BufWriter::new(io::stdout().lock()), &args, &province)?,
    }
    Ok(())
}

fn write(mut out: impl Write, args: &Args, province: &Province) -> anyhow::Result<()> {
    synth::write_roster_csv(&mut out, args.seed, args.persons, province)?;
    out.flush()?;
    Ok(())
}
