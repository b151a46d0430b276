// libarchive, the library that bsdtar is built on: unpacks the Alpine tarball.
#if !__has_include(<archive.h>)
#error "libarchive's headers are missing: sudo apt-get install libarchive-dev (Fedora: sudo dnf install libarchive-devel)"
#endif
#include <archive.h>
#include <archive_entry.h>
