-- Thumbnails are made by a background job: a post is 'processing' until
-- its variants exist, then 'ready' (or 'failed'). upload_key names the
-- uploaded bytes the job reads; it is cleared when the job is done.
ALTER TABLE posts ADD COLUMN status TEXT NOT NULL DEFAULT 'ready';
ALTER TABLE posts ADD COLUMN upload_key TEXT NOT NULL DEFAULT '';
