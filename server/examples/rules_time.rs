use okstra_lsp::{config::Config, generate, model, rules};
use std::time::Instant;
fn main() {
    let config = Config::default();
    let text = generate::plan(&generate::Spec::clean(1000));
    let plan = model::parse(&text, &config);
    for _ in 0..2 {
        let t = Instant::now();
        let ctx = rules::Context::new(&text, &plan, &config);
        println!("context {:?}", t.elapsed());
        let t = Instant::now();
        let _ = ctx.overlaps();
        println!("overlaps {:?}", t.elapsed());
        for r in rules::RULES {
            let t = Instant::now();
            let mut out = Vec::new();
            (r.check)(&ctx, &mut out);
            let e = t.elapsed();
            if e.as_micros() > 20 {
                println!("{} {:?}", r.code, e);
            }
        }
        let t = Instant::now();
        let mut p2 = plan.clone();
        p2.reindex();
        println!("reindex+clone {:?}", t.elapsed());
    }
}
