#pragma once
// libarchive is loaded on first use (dlopen), not at start-up: it and the
// libraries it pulls in (libxml2, ICU, libstdc++, five compressors) cost every
// step about 3 ms to load, and only a cold unpack needs them.

/// Loads libarchive if needed. Returns 0, or -1 with the reason in `ws_archive_error()`.
int ws_archive_load(void);
/// Why the last `ws_archive_load` failed (dlerror's text).
const char *ws_archive_error(void);
