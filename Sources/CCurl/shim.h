#ifndef OLW_CURL_SHIM_H
#define OLW_CURL_SHIM_H
/* Typed, non-variadic wrappers around libcurl's variadic setters, which Swift cannot call. */
#include <curl/curl.h>

typedef size_t (*olw_curl_data_callback)(char *buffer, size_t size, size_t count, void *userdata);

static inline CURLcode olw_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_setopt_callback(CURL *handle, CURLoption option, olw_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode olw_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode olw_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLMcode olw_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}
static const size_t olw_curl_writefunc_pause = CURL_WRITEFUNC_PAUSE;
static const size_t olw_curl_readfunc_pause = CURL_READFUNC_PAUSE;
static const int olw_curl_pause_cont = CURLPAUSE_CONT;
#endif
