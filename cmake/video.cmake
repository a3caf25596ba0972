# ffmpeg's libraries for video files (src/osp/io/video_*.cpp, docs/vae.md): decoding mp4/webm/avi/gif,
# encoding H.264 (libx264 inside Debian's libavcodec), VP9, GIF and PNG; swscale for pixel formats.
find_package(PkgConfig REQUIRED)
pkg_check_modules(OSP_FFMPEG REQUIRED IMPORTED_TARGET libavcodec libavformat libavutil libswscale)
target_link_libraries(osp_video PRIVATE PkgConfig::OSP_FFMPEG)
