/* alert.h - incidents and alert delivery (Slack, Instatus, webhook, exec): not built yet. */
#ifndef CANARY_ALERT_H
#define CANARY_ALERT_H

/*
 * The alerting module will turn results into incidents and deliver their
 * events through channel plugins registered here (prefix alert_). It knows
 * results and incidents, never HTTP flows.
 */

#endif
