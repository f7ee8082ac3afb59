#ifndef SLUICE_CSHIMS_H
#define SLUICE_CSHIMS_H
#include <sqlite3.h>
#include <curl/curl.h>

/* Swift cannot call C variadic functions; each wrapper fixes one argument type. */

/* sqlite3_file_control with an int argument (SQLITE_FCNTL_PERSIST_WAL and friends). */
int sluice_sqlite3_file_control_int(sqlite3 *db, const char *schema, int op, int *value);

/* sqlite3_db_config for the (int, int*) option family. */
int sluice_sqlite3_db_config_int(sqlite3 *db, int op, int value, int *out);

/* SQLITE_TRANSIENT is a macro over a cast that Swift does not import. */
sqlite3_destructor_type sluice_sqlite3_transient(void);

/* curl_easy_setopt / curl_easy_getinfo, one wrapper per argument type. */
CURLcode sluice_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode sluice_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value);
CURLcode sluice_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode sluice_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode sluice_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode sluice_curl_setopt_write_function(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode sluice_curl_setopt_read_function(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode sluice_curl_setopt_header_function(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode sluice_curl_setopt_seek_function(CURL *handle, int (*callback)(void *, curl_off_t, int));
CURLcode sluice_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode sluice_curl_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value);

/* glibc allocator settings for the long-running replicator (see CLI/MemoryTuning.swift):
   at most `arenas` arenas, and blocks of `mmap_threshold` bytes or more always mmapped, so freed
   copy buffers go back to the kernel. */
void sluice_tune_allocator(int arenas, int mmap_threshold, int trim_threshold);

/* sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0): SQLite stops counting its allocations, which it
   does under one process-wide mutex on every malloc and free. Only before SQLite initializes. */
int sluice_sqlite3_disable_memory_statistics(void);

#endif
