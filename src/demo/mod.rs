//! `leadcrawl demo`: the whole pipeline, offline, on the bundled demo.
pub fn run(
    _out: &std::path::Path,
    _dir: Option<&std::path::Path>,
    _json: bool,
) -> anyhow::Result<u8> {
    anyhow::bail!("todo")
}
