use okstra_lsp::{config::Config, generate, model, rules, syntax};
use std::time::Instant;
fn main() {
    let config = Config::default();
    let text = generate::plan(&generate::Spec::clean(1000));
    let tree = syntax::parse_blocks(&text, None);
    for _ in 0..3 {
        let t = Instant::now();
        let outline = syntax::outline(&tree, &text);
        let t1 = t.elapsed();
        let plan = model::build_from_outline(&text, &outline, &config);
        let t2 = t.elapsed();
        let f = rules::check(&text, &plan, &config);
        let t3 = t.elapsed();
        let t4 = Instant::now();
        let _ = syntax::parse_blocks(&text, Some(&tree));
        println!(
            "outline {:?} model {:?} rules {:?} reparse-same {:?} ({} findings, {} blocks)",
            t1,
            t2 - t1,
            t3 - t2,
            t4.elapsed(),
            f.len(),
            outline.len()
        );
    }
}
