-- A revert's update says whom it reverted and since when ("<author id> <since>"), so that a
-- later revert of the same author does not bring back again what this one restored.
ALTER TABLE "document_updates" ADD COLUMN "reverts" TEXT;
