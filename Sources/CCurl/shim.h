#ifndef OLW_CURL_SHIM_H
#define OLW_CURL_SHIM_H
/* Typed, non-variadic wrappers around libcurl's variadic setters, which Swift cannot call. */
#include <curl/curl.h>
#include <dlfcn.h>

/* Pointers are non-null unless marked _Nullable: handles always are; a value libcurl takes NULL for
   (restore the default, no body, no list) is _Nullable. */
#pragma clang assume_nonnull begin

/* Buffer and userdata stay _Nullable: libcurl passes what it was given, and the callbacks check. */
typedef size_t (*olw_curl_data_callback)(char *_Nullable buffer, size_t size, size_t count, void *_Nullable userdata);

static inline CURLcode olw_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_setopt_string(CURL *handle, CURLoption option, const char *_Nullable value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_setopt_pointer(CURL *handle, CURLoption option, void *_Nullable value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *_Nullable value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_setopt_callback(CURL *handle, CURLoption option, olw_curl_data_callback _Nullable value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode olw_easy_getinfo_pointer(CURL *handle, CURLINFO info, void *_Nullable *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode olw_easy_getinfo_socket(CURL *handle, CURLINFO info, curl_socket_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
/* Sends TLS close_notify on a CONNECT_ONLY connection (OpenSSL backend) without closing it, so the peer
   reads end of input while we keep reading: a TLS half-close. SSL_shutdown is looked up at run time in
   the libssl libcurl loaded. Returns 0 when sent (or queued), -1 when not possible. */
static inline int olw_tls_close_notify(CURL *handle) {
    struct curl_tlssessioninfo *_Nullable info = NULL;
    if (curl_easy_getinfo(handle, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || info == NULL) return -1;
    if (info->backend != CURLSSLBACKEND_OPENSSL || info->internals == NULL) return -1;
    int (*_Nullable shutdown_fn)(void *) = (int (*)(void *))dlsym(RTLD_DEFAULT, "SSL_shutdown");
    if (shutdown_fn == NULL) return -1;
    return shutdown_fn(info->internals) >= 0 ? 0 : -1;
}
static inline CURLMcode olw_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}
static const size_t olw_curl_writefunc_pause = CURL_WRITEFUNC_PAUSE;
static const size_t olw_curl_readfunc_pause = CURL_READFUNC_PAUSE;
static const size_t olw_curl_readfunc_abort = CURL_READFUNC_ABORT;
static const int olw_curl_pause_cont = CURLPAUSE_CONT;

#pragma clang assume_nonnull end
#endif
