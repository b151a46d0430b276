// Trampolines with libarchive's own names and signatures (from <archive.h>): the
// Swift code calls archive_read_new() as usual, and the first call of each
// looks the real function up in libarchive, opened with dlopen on first use.
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include "CArchiveLoader.h"

static void *library;
static char failure[512];

int ws_archive_load(void) {
    if (library) return 0;
    library = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        // Report the usual soname's failure, not the fallback's.
        snprintf(failure, sizeof failure, "%s", dlerror());
        library = dlopen("libarchive.so", RTLD_NOW | RTLD_LOCAL);
    }
    return library ? 0 : -1;
}

const char *ws_archive_error(void) { return failure; }

static void *real(const char *name) {
    void *function = NULL;
    if (ws_archive_load() == 0) function = dlsym(library, name);
    if (!function) {
        // Only reachable if libarchive vanished or is too old: no clean way on from here.
        fprintf(stderr, "workshop: error: cannot use libarchive's %s: %s\n", name,
                library ? "missing in this version" : failure);
        exit(125);
    }
    return function;
}

#define FORWARD(type, name, parameters, arguments)                        \
    type name parameters {                                                \
        static type (*function) parameters;                               \
        if (!function) function = (type (*) parameters)real(#name);       \
        return function arguments;                                        \
    }
#define FORWARD_VOID(name, parameters, arguments)                         \
    void name parameters {                                                \
        static void (*function) parameters;                               \
        if (!function) function = (void (*) parameters)real(#name);       \
        function arguments;                                               \
    }

FORWARD(struct archive *, archive_read_new, (void), ())
FORWARD(int, archive_read_support_filter_all, (struct archive *a), (a))
FORWARD(int, archive_read_support_format_all, (struct archive *a), (a))
FORWARD(int, archive_read_support_format_tar, (struct archive *a), (a))
FORWARD(int, archive_read_support_filter_gzip, (struct archive *a), (a))
FORWARD(int, archive_read_support_filter_bzip2, (struct archive *a), (a))
FORWARD(int, archive_read_support_filter_xz, (struct archive *a), (a))
FORWARD(int, archive_read_support_filter_zstd, (struct archive *a), (a))
FORWARD(int, archive_read_open_fd, (struct archive *a, int fd, size_t block), (a, fd, block))
FORWARD(int, archive_read_open_filename, (struct archive *a, const char *name, size_t block), (a, name, block))
FORWARD(int, archive_read_next_header, (struct archive *a, struct archive_entry **entry), (a, entry))
FORWARD(int, archive_read_data_block, (struct archive *a, const void **block, size_t *size, la_int64_t *offset),
        (a, block, size, offset))
FORWARD(int, archive_read_free, (struct archive *a), (a))
FORWARD(const char *, archive_error_string, (struct archive *a), (a))
FORWARD(int, archive_errno, (struct archive *a), (a))

FORWARD(struct archive *, archive_write_disk_new, (void), ())
FORWARD(int, archive_write_disk_set_options, (struct archive *a, int flags), (a, flags))
FORWARD(struct archive *, archive_write_new, (void), ())
FORWARD(int, archive_write_set_format_pax_restricted, (struct archive *a), (a))
FORWARD(int, archive_write_add_filter_gzip, (struct archive *a), (a))
FORWARD(int, archive_write_add_filter_bzip2, (struct archive *a), (a))
FORWARD(int, archive_write_add_filter_xz, (struct archive *a), (a))
FORWARD(int, archive_write_add_filter_zstd, (struct archive *a), (a))
FORWARD(int, archive_write_set_format_raw, (struct archive *a), (a))
FORWARD(int, archive_write_open_filename, (struct archive *a, const char *name), (a, name))
FORWARD(int, archive_write_header, (struct archive *a, struct archive_entry *entry), (a, entry))
FORWARD(la_ssize_t, archive_write_data, (struct archive *a, const void *data, size_t size), (a, data, size))
FORWARD(la_ssize_t, archive_write_data_block, (struct archive *a, const void *data, size_t size, la_int64_t offset),
        (a, data, size, offset))
FORWARD(int, archive_write_finish_entry, (struct archive *a), (a))
FORWARD(int, archive_write_close, (struct archive *a), (a))
FORWARD(int, archive_write_free, (struct archive *a), (a))

FORWARD(struct archive_entry *, archive_entry_new, (void), ())
FORWARD_VOID(archive_entry_free, (struct archive_entry *e), (e))
FORWARD(const char *, archive_entry_pathname, (struct archive_entry *e), (e))
FORWARD(const char *, archive_entry_hardlink, (struct archive_entry *e), (e))
FORWARD(la_int64_t, archive_entry_size, (struct archive_entry *e), (e))
FORWARD(__LA_MODE_T, archive_entry_filetype, (struct archive_entry *e), (e))
FORWARD(__LA_MODE_T, archive_entry_perm, (struct archive_entry *e), (e))
FORWARD(int, archive_entry_xattr_count, (struct archive_entry *e), (e))
FORWARD(int, archive_entry_xattr_reset, (struct archive_entry *e), (e))
FORWARD(int, archive_entry_xattr_next, (struct archive_entry *e, const char **name, const void **value, size_t *size),
        (e, name, value, size))
FORWARD_VOID(archive_entry_xattr_clear, (struct archive_entry *e), (e))
FORWARD_VOID(archive_entry_set_fflags, (struct archive_entry *e, unsigned long set, unsigned long clear), (e, set, clear))
FORWARD(la_int64_t, archive_entry_uid, (struct archive_entry *e), (e))
FORWARD(la_int64_t, archive_entry_gid, (struct archive_entry *e), (e))
FORWARD_VOID(archive_entry_set_uid, (struct archive_entry *e, la_int64_t id), (e, id))
FORWARD_VOID(archive_entry_set_gid, (struct archive_entry *e, la_int64_t id), (e, id))
FORWARD_VOID(archive_entry_set_uname, (struct archive_entry *e, const char *name), (e, name))
FORWARD_VOID(archive_entry_set_gname, (struct archive_entry *e, const char *name), (e, name))
FORWARD_VOID(archive_entry_set_pathname, (struct archive_entry *e, const char *name), (e, name))
FORWARD_VOID(archive_entry_set_filetype, (struct archive_entry *e, unsigned int type), (e, type))
FORWARD_VOID(archive_entry_set_perm, (struct archive_entry *e, __LA_MODE_T mode), (e, mode))
FORWARD_VOID(archive_entry_set_size, (struct archive_entry *e, la_int64_t size), (e, size))
FORWARD_VOID(archive_entry_set_symlink, (struct archive_entry *e, const char *target), (e, target))
FORWARD_VOID(archive_entry_set_hardlink, (struct archive_entry *e, const char *target), (e, target))
