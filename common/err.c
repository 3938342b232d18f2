#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *cmn_err_name(int err)
{
    switch (err) {
#define CMN_ERR_NAME(name, value, desc)                                                            \
    case value:                                                                                    \
        return "CMN_ERR_" #name;
        CMN_ERR_MAP(CMN_ERR_NAME)
#undef CMN_ERR_NAME
    }
    return "CMN_ERR_UNKNOWN";
}

const char *cmn_err_str(int err)
{
    switch (err) {
#define CMN_ERR_STR(name, value, desc)                                                             \
    case value:                                                                                    \
        return desc;
        CMN_ERR_MAP(CMN_ERR_STR)
#undef CMN_ERR_STR
    }
    return "unknown error";
}

void cmn_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* One line, whatever a library's message held: trailing newlines and spaces go, inner
     * line breaks and tabs become spaces. */
    size_t n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == '\r' || err[n - 1] == ' '))
        err[--n] = '\0';
    for (char *c = err; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
}
