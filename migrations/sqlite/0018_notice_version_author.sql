-- Who uploaded a version (its author), so that review can refuse the author as well as the
-- submitter (four eyes: approver is not author). Versions from files in `policies/` have no
-- uploader here. Uploads before this migration take it from the audit trail, unless that entry
-- was anonymised or removed by retention already.
ALTER TABLE notice_versions ADD COLUMN uploaded_by TEXT;
UPDATE notice_versions SET uploaded_by = (
    SELECT a.actor FROM audit_events a
    WHERE a.action = 'notice.uploaded'
      AND a.target = 'notice:' || notice_versions.notice_id || ' v' || notice_versions.version
    ORDER BY a.at DESC LIMIT 1)
WHERE source = 'upload';
