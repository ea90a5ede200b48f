// Typed wrappers around libcurl's variadic calls, which Swift cannot import.
// This target is the only C in Kuvert.
#ifndef KUVERT_CCURL_SHIM_H
#define KUVERT_CCURL_SHIM_H

#include <curl/curl.h>

typedef size_t (*kuvert_curl_data_callback)(char *buffer, size_t size, size_t count, void *context);

static inline CURLcode kuvert_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode kuvert_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode kuvert_curl_set_list(CURL *handle, CURLoption option, struct curl_slist *list) {
    return curl_easy_setopt(handle, option, list);
}

static inline CURLcode kuvert_curl_set_pointer(CURL *handle, CURLoption option, void *pointer) {
    return curl_easy_setopt(handle, option, pointer);
}

static inline CURLcode kuvert_curl_set_callback(CURL *handle, CURLoption option, kuvert_curl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

static inline CURLcode kuvert_curl_get_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
