/* result.c - names of verdicts and the logging sink used by every step. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "result.h"

const char *ph_result_name(enum ph_result result)
{
	switch (result) {
	case PH_OK: return "ok";
	case PH_REFUSED: return "refused";
	case PH_UNAVAILABLE: return "unavailable";
	case PH_MISCONFIGURED: return "misconfigured";
	}
	return "unknown";
}

const char *ph_result_outcome(enum ph_result result)
{
	return result == PH_OK ? "granted" : ph_result_name(result);
}

const char *ph_or_dash(const char *text)
{
	return text != NULL && text[0] != '\0' ? text : "-";
}

void ph_logf(const struct ph_log *log, int priority, const char *format, ...)
{
	char message[1024];
	va_list args;

	if (log == NULL || log->emit == NULL)
		return;
	va_start(args, format);
	vsnprintf(message, sizeof message, format, args);
	va_end(args);
	log->emit(log->ctx, priority, message);
}

enum ph_result ph_reason(char reason[PH_REASON_MAX], enum ph_result result,
			 const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(reason, PH_REASON_MAX, format, args);
	va_end(args);
	return result;
}
