//! S3's `ListObjectsV2` reply, as a broken or hostile S3-compatible server could send it.
//!
//! The text form: a first line `KEY_ROOT<TAB>PREFIX`, then the XML body. The body is read as
//! UTF-8 with invalid bytes replaced, as the Worker reads a reply's text.

use s3_gatekeeper::s3::{self, Listing};

/// Splits the text form.
pub fn split(data: &[u8]) -> (String, String, String) {
    let text = String::from_utf8_lossy(data);
    let (first, xml) = text.split_once('\n').unwrap_or(("", &text));
    let (root, prefix) = first.split_once('\t').unwrap_or(("", first));
    (root.to_owned(), prefix.to_owned(), xml.to_owned())
}

/// Parses a listing. Properties: no panic; every key and folder returned lies under the
/// requested prefix (relative to the key root), so a reply can never widen a grant; what is
/// returned is no bigger than the reply it came from.
pub fn check(data: &[u8]) {
    let (root, prefix, xml) = split(data);
    let Ok(listing) = s3::parse_listing(&xml, &root, &prefix) else {
        return;
    };
    check_listing(&listing, &prefix, xml.len());
}

fn check_listing(listing: &Listing, prefix: &str, reply_len: usize) {
    assert_eq!(listing.prefix, prefix);
    for key in listing
        .objects
        .iter()
        .map(|o| &o.key)
        .chain(&listing.prefixes)
    {
        assert!(key.starts_with(prefix), "{key:?} is outside {prefix:?}");
    }
    let text: usize = listing
        .objects
        .iter()
        .map(|o| o.key.len() + o.etag.as_ref().map_or(0, String::len) + o.last_modified.len())
        .chain(listing.prefixes.iter().map(String::len))
        .chain(listing.next_cursor.iter().map(String::len))
        .sum();
    assert!(
        text <= reply_len,
        "{text} bytes out of a {reply_len}-byte reply"
    );
    assert!(
        (listing.objects.len() + listing.prefixes.len()) * 8 <= reply_len,
        "more entries than the reply can hold"
    );
}
