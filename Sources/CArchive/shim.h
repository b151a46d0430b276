// libarchive, the library that bsdtar is built on: unpacks the Alpine tarball.
#include <archive.h>
#include <archive_entry.h>
