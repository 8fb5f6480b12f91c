fn main() {
    for p in std::env::args().skip(1) {
        let t = std::fs::read_to_string(&p).unwrap();
        for s in stance::segment::segment(&t) { println!("{}\t{}", p, s.text(&t)); }
    }
}
