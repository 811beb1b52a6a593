/*
 * PandaBridge desk events: an "after" business rule on the Incident [incident] table.
 *
 * ServiceNow has no webhooks. This rule posts each change of an incident that PandaBridge
 * mirrors to BigPanda (state, assignee, a new comment or work note) to the stack's
 * DeskEventsUrl with the bearer token of the target's events secret. The POST is sent with
 * executeAsync(), so the agent's save never waits for it; ServiceNow's outbound queue retries
 * it when the endpoint answers 5xx or cannot be reached.
 *
 * Install: desks/servicenow/README.md. Settings (System Properties, sys_properties):
 *   x_pandabridge.desk_events_url   the DeskEventsUrl with {target} replaced, e.g.
 *                                   https://abc.execute-api.eu-west-1.amazonaws.com/prod/desk/snow/events
 *   x_pandabridge.desk_events_token the token of the events secret (type: password2)
 *
 * The body (PandaBridge deduplicates on sys_id + sys_mod_count):
 *   {sys_id, number, sys_mod_count, correlation_id, changed: [...], state, previous_state,
 *    assigned_to_email, updated_by, updated_by_name, updated_at, journal?: {element, value}}
 *
 * When to run: after, update; Condition (the rule's condition field):
 *   current.state.changes() || current.assigned_to.changes() ||
 *   current.comments.changes() || current.work_notes.changes()
 * and, to leave other incidents alone: current.correlation_display == "BigPanda"
 */
(function executeRule(current, previous) {
    var url = gs.getProperty('x_pandabridge.desk_events_url');
    var token = gs.getProperty('x_pandabridge.desk_events_token');
    if (!url || !token) {
        gs.warn('PandaBridge desk events: set x_pandabridge.desk_events_url and ' +
            'x_pandabridge.desk_events_token (System Properties)');
        return;
    }

    var changed = [];
    var fields = ['state', 'assigned_to', 'comments', 'work_notes'];
    for (var i = 0; i < fields.length; i++) {
        if (current[fields[i]].changes()) {
            changed.push(fields[i]);
        }
    }
    if (changed.length === 0) {
        return;
    }

    var body = {
        sys_id: current.getUniqueValue(),
        number: current.getValue('number'),
        sys_mod_count: parseInt(current.getValue('sys_mod_count'), 10),
        correlation_id: current.getValue('correlation_id') || '',
        changed: changed,
        state: current.getValue('state'),
        previous_state: previous ? previous.getValue('state') : '',
        assigned_to_email: current.assigned_to.nil() ? '' : current.assigned_to.email.toString(),
        updated_by: gs.getUserName(),
        updated_by_name: gs.getUserDisplayName(),
        // sys_updated_on's value is UTC, "YYYY-MM-DD HH:MM:SS".
        updated_at: current.getValue('sys_updated_on')
    };

    // The newest journal entry, without its "<date> - <user> (<field>)" header line.
    var journals = ['comments', 'work_notes'];
    for (var j = 0; j < journals.length; j++) {
        if (current[journals[j]].changes()) {
            var entry = current[journals[j]].getJournalEntry(1) || '';
            body.journal = {element: journals[j], value: entry.replace(/^.*\n/, '').trim()};
            break;
        }
    }

    var request = new sn_ws.RESTMessageV2();
    request.setEndpoint(url);
    request.setHttpMethod('POST');
    request.setRequestHeader('Content-Type', 'application/json');
    request.setRequestHeader('Authorization', 'Bearer ' + token);
    request.setRequestBody(JSON.stringify(body));
    request.executeAsync();
})(current, previous);
