-- SPDX-License-Identifier: AGPL-3.0-or-later
-- Remove everything glia created. Used by the tests; never by glia itself.
DROP SCHEMA IF EXISTS glia CASCADE;
DROP SCHEMA IF EXISTS glia_versioning CASCADE;
