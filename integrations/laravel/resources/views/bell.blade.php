<script type="module" src="{{ $scriptUrl }}"></script>
<notification-bell {{ $attributes->merge($bellAttributes()) }}></notification-bell>
