//! The committed man pages must be what clap_mangen makes of the current command line.
//! Regenerate with `PGLCR_UPDATE_MAN=1 cargo test --test man_pages`.

#[path = "../bin/cli.rs"]
#[allow(dead_code)]
mod cli;

use clap::CommandFactory;

fn pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = cli::Cli::command();
    cmd.build();
    let render = |c: clap::Command| {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c)
            .render(&mut buf)
            .expect("render man page");
        buf
    };
    let mut pages = vec![("pglcr.1".to_string(), render(cmd.clone()))];
    // one page per subcommand at every level: pglcr-catalog.1, pglcr-catalog-export.1, …
    fn add(
        parent: &str,
        cmd: &clap::Command,
        render: &dyn Fn(clap::Command) -> Vec<u8>,
        pages: &mut Vec<(String, Vec<u8>)>,
    ) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{parent}-{}", sub.get_name());
            pages.push((format!("{name}.1"), render(sub.clone().name(&name))));
            add(&name, sub, render, pages);
        }
    }
    add("pglcr", &cmd, &render, &mut pages);
    pages
}

#[test]
fn man_pages_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("PGLCR_UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for (name, content) in pages() {
        let path = dir.join(&name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &content).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&content[..]) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "stale man pages {stale:?}: run PGLCR_UPDATE_MAN=1 cargo test --test man_pages"
    );
}
