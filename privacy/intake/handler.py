"""An upload handler that caps each file's size while the request streams in.

Django's upload settings do not cap a file (DATA_UPLOAD_MAX_MEMORY_SIZE excludes files;
FILE_UPLOAD_MAX_MEMORY_SIZE only decides when to spill to a temporary file). This handler is
installed alone on the upload view (`request.upload_handlers = [...]` before the body is read,
so the view is csrf_exempt with csrf_protect inside): it keeps a file in memory up to the cap —
nothing is ever written to FILE_UPLOAD_TEMP_DIR — and drops a bigger one as soon as it passes
the cap (or at once when the declared request length already exceeds it), keeping none of its
bytes. The view finds the dropped field names in `request.oversize_uploads`."""

import io

from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

# Room for the other form fields and the multipart framing around one file.
FORM_OVERHEAD = 64 * 1024


class SizeCappedUploadHandler(FileUploadHandler):
    def __init__(self, request, *, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.declared_too_large = False
        self.buffer: io.BytesIO | None = None
        request.oversize_uploads = set()

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.declared_too_large = content_length > self.max_bytes + FORM_OVERHEAD
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()

    def receive_data_chunk(self, raw_data, start):
        if self.declared_too_large or start + len(raw_data) > self.max_bytes:
            self.buffer = None
            self.request.oversize_uploads.add(self.field_name)
            raise SkipFile()
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size):
        if self.buffer is None:
            return None
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
