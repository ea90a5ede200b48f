/* What libcurl alone reaches: COUNT messages of SIZE bytes sent into an SMTP
 * server over CONNECTIONS easy handles, each on a thread of its own and
 * reusing its connection, one recipient a message (as Kuvert sends them).
 * No store, no rendering: the ceiling for any sender that goes through
 * libcurl, which speaks SMTP one command at a time (no PIPELINING).
 * Benchmark-only. Usage: curl_ceiling URL COUNT SIZE CONNECTIONS; prints msg/s. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *url;
static int per_thread;
static char *message;
static size_t message_size;

struct cursor { size_t offset; };

static size_t read_message(char *buffer, size_t size, size_t count, void *data) {
    struct cursor *cursor = data;
    size_t left = message_size - cursor->offset, wanted = size * count;
    if (wanted > left) wanted = left;
    memcpy(buffer, message + cursor->offset, wanted);
    cursor->offset += wanted;
    return wanted;
}

static void *session(void *number) {
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, "<bench@example.se>");
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)message_size);
    for (int i = 0; i < per_thread; i++) {
        char recipient[64];
        snprintf(recipient, sizeof recipient, "<ceiling%ld-%d@example.se>", (long)(size_t)number, i);
        struct curl_slist *recipients = curl_slist_append(NULL, recipient);
        struct cursor cursor = {0};
        curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
        curl_easy_setopt(curl, CURLOPT_READDATA, &cursor);
        CURLcode code = curl_easy_perform(curl);
        curl_slist_free_all(recipients);
        if (code != CURLE_OK) {
            fprintf(stderr, "curl_ceiling: %s\n", curl_easy_strerror(code));
            exit(1);
        }
    }
    curl_easy_cleanup(curl);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: curl_ceiling URL COUNT SIZE CONNECTIONS\n");
        return 2;
    }
    url = argv[1];
    int count = atoi(argv[2]), connections = atoi(argv[4]);
    message_size = (size_t)atol(argv[3]);
    if (count <= 0 || connections <= 0 || connections > 256 || message_size < 64) {
        fprintf(stderr, "curl_ceiling: bad arguments\n");
        return 2;
    }
    per_thread = count / connections;
    /* Header lines, then body lines of 76 characters with CRLF, to the size. */
    message = malloc(message_size + 1);
    size_t used = (size_t)snprintf(message, message_size + 1, "Subject: ceiling\r\n\r\n");
    while (used + 78 <= message_size) {
        memset(message + used, 'x', 76);
        memcpy(message + used + 76, "\r\n", 2);
        used += 78;
    }
    while (used < message_size) message[used++] = '.';
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_t threads[256];
    for (long i = 0; i < connections; i++) pthread_create(&threads[i], NULL, session, (void *)i);
    for (int i = 0; i < connections; i++) pthread_join(threads[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("%.0f\n", (double)(per_thread * connections) / seconds);
    return 0;
}
