# ffmpeg libraries for video files (issue 5). Nothing yet.
