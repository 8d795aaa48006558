#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((rest, header)) = pglcr::wal::page::parse_page_header(data) {
        assert!(rest.len() + header.size() == data.len());
        let _ = (header.is_contrecord(), header.is_overwrite_contrecord());
    }
});
