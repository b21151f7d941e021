"""One APIRouter per feature; thin handlers over the answering and job services."""
